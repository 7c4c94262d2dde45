package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hnslb/hnslb/examples/internal/textout"
)

// writeJSON writes the report as one JSON document, indented by two
// spaces, with a trailing newline; every key is present and lists are []
// rather than null.
func writeJSON(w io.Writer, r *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// counts says how many entries have each status: "22 match, 1 missing".
func counts(statuses []string) string {
	n := map[string]int{}
	for _, s := range statuses {
		n[s]++
	}
	var parts []string
	for _, s := range []string{statusMatch, statusMissing, statusExtra, statusDifferent} {
		if n[s] > 0 || s == statusMatch {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *report) lbStatuses() []string {
	out := make([]string, len(r.LoadBalancers))
	for i, lb := range r.LoadBalancers {
		out[i] = lb.Status
	}
	return out
}

func (r *report) endpointStatuses() []string {
	out := make([]string, len(r.Endpoints))
	for i, ep := range r.Endpoints {
		out[i] = ep.Status
	}
	return out
}

// summary says what differs, for stderr.
func (r *report) summary() string {
	return fmt.Sprintf("load balancers: %s; endpoints: %s", counts(r.lbStatuses()), counts(r.endpointStatuses()))
}

const indent = "    "

// writeTable writes the report for people: what was compared, then every
// load balancer and endpoint that does not match, with its differences
// field by field, then the diagnostics. Matches are counted, not listed
// (-o json lists them).
func writeTable(w io.Writer, r *report, source string) error {
	out := &textout.Writer{W: w}
	fmt.Fprintf(out, "AUDIT node %s, %s\n", clean(r.node), clean(r.network))
	fmt.Fprintf(out, "      HNS (%s): %d load balancer(s), %d endpoint(s) on the network\n", clean(source), r.hnsLBs, r.hnsEPs)
	fmt.Fprintf(out, "      plan: %d load balancer(s), %d endpoint(s)\n", r.planLBs, r.planEPs)

	fmt.Fprintf(out, "\nLOAD BALANCERS: %s\n", counts(r.lbStatuses()))
	for _, lb := range r.LoadBalancers {
		if lb.Status == statusMatch {
			continue
		}
		head := []string{lb.Status, orDash(lb.Key)}
		if lb.Kind != "" {
			head = append(head, lb.Kind)
		}
		if lb.Service != "" {
			head = append(head, serviceName(lb.Service, lb.Port))
		}
		if lb.HNSID != "" {
			head = append(head, "(HNS ID "+lb.HNSID+")")
		}
		writeEntry(out, head, lb.Hint, lb.Differences)
	}

	fmt.Fprintf(out, "\nENDPOINTS: %s\n", counts(r.endpointStatuses()))
	for _, ep := range r.Endpoints {
		if ep.Status == statusMatch {
			continue
		}
		head := []string{ep.Status, orDash(ep.IP)}
		if ep.HNSID != "" {
			head = append(head, "(HNS ID "+ep.HNSID+")")
		}
		writeEntry(out, head, ep.Hint, ep.Differences)
	}

	fmt.Fprintf(out, "\nDIAGNOSTICS (%d)\n", len(r.Diagnostics))
	if len(r.Diagnostics) > 0 {
		fmt.Fprintln(out)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tOBJECT\tREASON\tMESSAGE")
		for _, d := range r.Diagnostics {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clean(string(d.Severity)), clean(d.Object), clean(string(d.Reason)), clean(d.Message))
		}
		tw.Flush()
	}
	return out.Err
}

// writeEntry writes one load balancer or endpoint that does not match: a
// heading, the hint, and its differences as a table.
func writeEntry(out io.Writer, head []string, hint string, diffs []difference) {
	for i := range head {
		head[i] = clean(head[i])
	}
	fmt.Fprintf(out, "\n%s\n", strings.Join(head, "  "))
	if hint != "" {
		fmt.Fprintf(out, "%s%s\n", indent, clean(hint))
	}
	if len(diffs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%sFIELD\tPLANNED\tHNS\n", indent)
	for _, d := range diffs {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\n", indent, clean(d.Field), orDash(clean(d.Planned)), orDash(clean(d.HNS)))
	}
	tw.Flush()
}

func serviceName(service, port string) string {
	if port != "" {
		return service + ":" + port
	}
	return service
}

// clean makes text from the input safe for one table cell: no tabs, line
// breaks or other control characters.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
