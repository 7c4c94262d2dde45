package hns

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// go doc shows the documentation of the build it runs on: on Linux that is
// hcn_other.go. Each of its exported declarations must carry the Windows
// documentation (concurrency, context, errors), with what differs added.
func TestHCNDocsMatchOnEveryOS(t *testing.T) {
	win, other := declDocs(t, "hcn_windows.go"), declDocs(t, "hcn_other.go")
	if len(win) == 0 {
		t.Fatal("no documented declarations in hcn_windows.go")
	}
	for name, doc := range win {
		if got, ok := other[name]; !ok || !strings.HasPrefix(got, doc) {
			t.Errorf("hcn_other.go's doc of %s does not start with hcn_windows.go's:\n%s\ngot:\n%s", name, doc, got)
		}
	}
}

func declDocs(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Name.IsExported() && d.Doc != nil {
				docs[d.Name.Name] = d.Doc.Text()
			}
		case *ast.GenDecl:
			for _, sp := range d.Specs {
				if ts, ok := sp.(*ast.TypeSpec); ok && ts.Name.IsExported() && d.Doc != nil {
					docs[ts.Name.Name] = d.Doc.Text()
				}
			}
		}
	}
	return docs
}
