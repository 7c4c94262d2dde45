package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/hnslb/hnslb/examples/internal/textout"
	"github.com/hnslb/hnslb/fake"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// allOps are the hns.Client operations, in the order the table lists
// them.
var allOps = []hns.Op{
	hns.OpCreateLoadBalancer, hns.OpUpdateLoadBalancer, hns.OpDeleteLoadBalancer,
	hns.OpCreateEndpoint, hns.OpDeleteEndpoint,
	hns.OpListLoadBalancers, hns.OpListEndpoints, hns.OpGetLoadBalancer,
	hns.OpGetNetwork, hns.OpVersion,
}

// callCounts returns a step's calls by operation, as -o json prints them:
// keyed by the hns.Op names, every operation present.
func callCounts(c fake.Calls) map[hns.Op]int {
	out := make(map[hns.Op]int, len(allOps))
	for _, op := range allOps {
		out[op] = 0
	}
	for op, n := range c {
		out[op] = n
	}
	return out
}

// replayJSON is the -o json document.
type replayJSON struct {
	Steps []stepJSON `json:"steps"`
}

type stepJSON struct {
	Step string `json:"step"`
	// Calls are the Client calls HNS received during the step, by
	// operation (hns.Op: "CreateLoadBalancer", ..., "GetLoadBalancer").
	Calls map[hns.Op]int `json:"calls"`
	// Created, Updated and Deleted are the load balancers the step
	// changed, by key.
	Created       []keyChange `json:"created"`
	Updated       []keyChange `json:"updated"`
	Deleted       []keyChange `json:"deleted"`
	LoadBalancers int         `json:"loadBalancers"`
	Endpoints     int         `json:"endpoints"`
	Errors        []string    `json:"errors"`
	Diagnostics   []string    `json:"diagnostics"`
	Adopted       int         `json:"adopted"`
	Full          bool        `json:"full"`
}

// writeJSON writes the steps as one JSON document, indented by two spaces,
// with a trailing newline. Lists are [] rather than null.
func writeJSON(w io.Writer, steps []stepResult) error {
	doc := replayJSON{Steps: make([]stepJSON, len(steps))}
	for i, s := range steps {
		doc.Steps[i] = stepJSON{
			Step:          s.name,
			Calls:         callCounts(s.calls),
			Created:       orEmpty(s.created),
			Updated:       orEmpty(s.updated),
			Deleted:       orEmpty(s.deleted),
			LoadBalancers: s.loadBalancers,
			Endpoints:     s.endpoints,
			Errors:        s.errors(),
			Diagnostics:   s.diagnostics(),
			Adopted:       s.result.Adopted,
			Full:          s.result.Full,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// header is what the table says before the steps, and how it shows them.
type header struct {
	profile hns.Profile
	node    lbpolicy.Node
	steps   int
	// dump: show HNS's whole state after each step (-dump).
	dump bool
}

// Layout of the table output, sized for a 120-column terminal.
const (
	indent     = "    "
	labelWidth = 18
	lineWidth  = 118
)

// writeTable writes the replay for people: what was replayed on which HNS,
// then per step what happened and HNS's state afterwards (fake.DumpStable).
func writeTable(w io.Writer, h header, steps []stepResult) error {
	out := &textout.Writer{W: w}
	hns := fmt.Sprintf("HNS %s (profile %s)", h.profile.Version, h.profile.Name)
	if !isNamedProfile(h.profile) {
		hns = fmt.Sprintf("HNS %s (the node's hnsVersion)", h.profile.Version)
	}
	network := string(h.node.NetworkType) + " network " + h.node.NetworkName
	fmt.Fprintf(out, "%s, node %s on %s, %d step(s)\n", hns, clean(h.node.Name), clean(network), h.steps)
	for i, s := range steps {
		fmt.Fprintf(out, "\n%s\nSTEP %d/%d  %s\n\n", strings.Repeat("=", lineWidth), i+1, len(steps), clean(s.name))
		field := func(label string, lines ...string) {
			if len(lines) == 0 {
				lines = []string{"-"}
			}
			fmt.Fprintf(out, "%s%-*s%s\n", indent, labelWidth, label, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(out, "%s%-*s%s\n", indent, labelWidth, "", l)
			}
		}
		width := lineWidth - len(indent) - labelWidth
		if s.restarted {
			field("restart", fmt.Sprintf("a new Reconciler; its first sync adopted %d load balancer(s)", s.result.Adopted))
		}
		if len(s.events) > 0 {
			field("events", textout.Wrap(cleanAll(s.events), width)...)
		}
		if s.changes != nil {
			sync := "only these changes applied (SyncChanges)"
			if s.result.Full {
				sync = "full: HNS listed and the whole plan compared"
			}
			field("changes", changesText(s.changes), sync)
		}
		if len(s.newPods) > 0 {
			field("new pods", textout.Wrap(cleanAll(s.newPods), width)...)
		}
		field("calls", orNone(textout.Wrap(callsText(s.calls), width))...)
		for _, c := range []struct {
			label string
			keys  []keyChange
		}{{"created", s.created}, {"updated", s.updated}, {"deleted", s.deleted}} {
			field(fmt.Sprintf("%s (%d)", c.label, len(c.keys)), orNone(keyLines(c.keys))...)
		}
		field("HNS holds", fmt.Sprintf("%d load balancer(s), %d endpoint(s)", s.loadBalancers, s.endpoints))
		field(fmt.Sprintf("errors (%d)", len(s.errors())), orNone(wrapEach(cleanAll(s.errors()), width))...)
		if d := s.diagnostics(); len(d) > 0 {
			field(fmt.Sprintf("diagnostics (%d)", len(d)), wrapEach(cleanAll(d), width)...)
		}
		if h.dump {
			fmt.Fprintln(out)
			fmt.Fprint(out, s.dump)
		}
	}
	return out.Err
}

// callsText lists the calls made, by operation, in allOps order: e.g.
// "CreateLoadBalancer 5", "ListEndpoints 1".
func callsText(c fake.Calls) []string {
	var out []string
	counts := callCounts(c)
	for _, op := range allOps {
		if n := counts[op]; n > 0 {
			out = append(out, fmt.Sprintf("%s %d", op, n))
		}
	}
	return out
}

// keyLines renders changed load balancers one per line:
// "IPv4/10.96.45.12/TCP/80 default/web:http".
func keyLines(keys []keyChange) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = clean(k.String())
	}
	return out
}

func isNamedProfile(p hns.Profile) bool {
	named, err := hns.ProfileNamed(p.Name)
	return err == nil && named == p
}

// changesText summarises what the Tracker reported for a step.
func changesText(c *lbpolicy.Changes) string {
	return fmt.Sprintf("load balancers +%d ~%d -%d, endpoints +%d ~%d -%d (added, updated, removed)",
		len(c.AddedLoadBalancers), len(c.UpdatedLoadBalancers), len(c.RemovedLoadBalancers),
		len(c.AddedEndpoints), len(c.UpdatedEndpoints), len(c.RemovedEndpoints))
}

func orNone(lines []string) []string {
	if len(lines) == 0 {
		return []string{"(none)"}
	}
	return lines
}

// wrapEach breaks each item into lines of at most width bytes at spaces
// (a word longer than width gets a line of its own), indenting the lines
// after an item's first by two spaces.
func wrapEach(items []string, width int) []string {
	var lines []string
	for _, it := range items {
		var cur strings.Builder
		for _, word := range strings.Fields(it) {
			if cur.Len() > 0 && cur.Len()+1+len(word) > width {
				lines = append(lines, cur.String())
				cur.Reset()
				cur.WriteString("  ")
			}
			if cur.Len() > 0 && strings.TrimSpace(cur.String()) != "" {
				cur.WriteByte(' ')
			}
			cur.WriteString(word)
		}
		lines = append(lines, cur.String())
	}
	return lines
}

// clean makes text from the input safe for one table line: no tabs, line
// breaks or other control characters.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func cleanAll(items []string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = clean(it)
	}
	return out
}
