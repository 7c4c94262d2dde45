package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeDump: decodeDump never panics; what it accepts can be audited
// and printed, and writeDump writes it as a dump that decodes to the same
// objects (written again, the same bytes). Seeds are in
// testdata/fuzz/FuzzDecodeDump.
func FuzzDecodeDump(f *testing.F) {
	f.Add([]byte(`{"Networks": [], "LoadBalancers": [` + oneLB + `], "Endpoints": [` + oneEP + `]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeDump(data, "fuzz")
		if err != nil {
			return
		}
		plan := testPlan()
		r := compare(&plan, testNode, testCluster(), nil, &d)
		var out bytes.Buffer
		if err := writeTable(&out, &r, "fuzz"); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(&out, &r); err != nil {
			t.Fatal(err)
		}
		once := dumpText(t, d)
		again, err := decodeDump([]byte(once), "again")
		if err != nil {
			t.Fatalf("the written dump does not decode: %v\n%s", err, once)
		}
		if twice := dumpText(t, again); twice != once {
			t.Errorf("written, read back and written again (-once +twice):\n%s", cmp.Diff(once, twice))
		}
	})
}

func dumpText(t *testing.T, d Dump) string {
	t.Helper()
	var out bytes.Buffer
	if err := writeDump(&out, d); err != nil {
		t.Fatalf("writeDump of what decodeDump accepted: %v", err)
	}
	return out.String()
}
