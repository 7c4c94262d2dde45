package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/hnslb/hnslb/examples/internal/textout"
	"github.com/hnslb/hnslb/lbpolicy"
)

// writeJSON writes the plan's own JSON (see doc.go), with each load
// balancer's key and flag names added (loadBalancerJSON), indented by two
// spaces, with a trailing newline. Lists are [] rather than null, and "<"
// and ">" (in "<cbr0>") are not escaped. It writes the document as the
// encoding of planJSON would read, one list element at a time, so that a
// large plan is never held twice in memory.
func writeJSON(w io.Writer, p lbpolicy.Plan) error {
	e := listWriter{w: w}
	e.printf("{\n")
	e.list("loadBalancers", len(p.LoadBalancers), func(i int) any {
		lb := p.LoadBalancers[i]
		lb.FrontendVIPs = orEmpty(lb.FrontendVIPs)
		lb.Backends = orEmpty(lb.Backends)
		return loadBalancerJSON{
			LoadBalancer:         lb,
			KeyText:              lb.Key().String(),
			FlagNames:            flagNames(lb.Flags),
			PortMappingFlagNames: flagNames(lb.PortMappingFlags),
			DistributionTypeName: distributionName(lb.DistributionType),
		}
	})
	e.printf(",\n")
	e.list("endpoints", len(p.Endpoints), func(i int) any { return p.Endpoints[i] })
	e.printf(",\n")
	e.list("diagnostics", len(p.Diagnostics), func(i int) any { return p.Diagnostics[i] })
	e.printf("\n}\n")
	return e.err
}

// listWriter writes a JSON object's list members element by element, with
// the indentation json.Encoder's SetIndent("", "  ") gives them, and keeps
// the first error.
type listWriter struct {
	w   io.Writer
	buf bytes.Buffer
	err error
}

func (e *listWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// list writes `  "name": [...]` with n elements, elem(i) giving each.
func (e *listWriter) list(name string, n int, elem func(i int) any) {
	if n == 0 {
		e.printf("  %q: []", name)
		return
	}
	e.printf("  %q: [", name)
	enc := json.NewEncoder(&e.buf)
	enc.SetIndent("    ", "  ")
	enc.SetEscapeHTML(false)
	for i := 0; i < n && e.err == nil; i++ {
		e.buf.Reset()
		if e.err = enc.Encode(elem(i)); e.err != nil {
			return
		}
		sep := ","
		if i == n-1 {
			sep = ""
		}
		e.printf("\n    %s%s", bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")), sep)
	}
	e.printf("\n  ]")
}

// planJSON is lbpolicy.Plan as -o json prints it.
type planJSON struct {
	LoadBalancers []loadBalancerJSON    `json:"loadBalancers"`
	Endpoints     []lbpolicy.Endpoint   `json:"endpoints"`
	Diagnostics   []lbpolicy.Diagnostic `json:"diagnostics"`
}

// loadBalancerJSON is a load balancer as -o json prints it: the Plan's
// fields, then for people and scripts what its numbers mean: its identity
// key as hnslb's logs and errors write it, and its flags and distribution
// by name (the numbers stay in flags, portMappingFlags and
// distributionType).
type loadBalancerJSON struct {
	lbpolicy.LoadBalancer
	KeyText              string   `json:"key"`                  // "IPv4/10.96.0.10/TCP/80"
	FlagNames            []string `json:"flagNames"`            // ["DSR", "IPv6"]; [] for none
	PortMappingFlagNames []string `json:"portMappingFlagNames"` // ["LocalRoutedVIP", "VipExternalIP"]
	DistributionTypeName string   `json:"distributionTypeName"` // "None", "SourceIPProtocol", "SourceIP"; "" if unknown
}

// distributionName is HNS's name of d, "" if it has none.
func distributionName(d lbpolicy.DistributionType) string {
	if name := d.String(); name != fmt.Sprint(uint32(d)) {
		return name
	}
	return ""
}

// flagNames lists the names of the bits set in f, as f.String() names
// them ("0x20" for a bit without a name); none for 0.
func flagNames(f fmt.Stringer) []string {
	s := f.String()
	if s == "None" {
		return []string{}
	}
	return strings.Split(s, "|")
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Layout of the table output, sized for a 120-column terminal.
const (
	lbIndent   = "    "
	labelWidth = 16
	lineWidth  = 118
)

// writeTable writes the plan for people: the node, then each load balancer
// as a block (in plan order, which is key order), then the HNS endpoints
// and the diagnostics as tables.
func writeTable(w io.Writer, node lbpolicy.Node, p lbpolicy.Plan) error {
	out := &textout.Writer{W: w}
	writeNode(out, node)
	fmt.Fprintln(out)
	writeLoadBalancers(out, p)
	fmt.Fprintln(out)
	writeEndpoints(out, node, p)
	fmt.Fprintln(out)
	writeDiagnostics(out, p)
	return out.Err
}

func writeNode(out io.Writer, n lbpolicy.Node) {
	network := string(n.NetworkType)
	if n.NetworkName != "" {
		network += " network " + n.NetworkName
	}
	hns := n.HNSVersion
	if hns == "" {
		hns = "newest"
	}
	dsr := "DSR off"
	if n.EnableDSR {
		dsr = "DSR on"
	}
	parts := []string{clean(n.Name)}
	if n.Zone != "" {
		parts = append(parts, "zone "+clean(n.Zone))
	}
	parts = append(parts, clean(network), "node IPs "+listOrDash(n.NodeIPs))
	if len(n.SourceVIPs) > 0 {
		parts = append(parts, "source VIPs "+listOrDash(n.SourceVIPs))
	}
	parts = append(parts, "HNS "+clean(hns), dsr)
	fmt.Fprintf(out, "NODE %s\n", strings.Join(parts, ", "))
}

func writeLoadBalancers(out io.Writer, p lbpolicy.Plan) {
	fmt.Fprintf(out, "LOAD BALANCERS (%d)\n", len(p.LoadBalancers))
	if len(p.LoadBalancers) == 0 {
		fmt.Fprintln(out, "\n"+lbIndent+"(none)")
		return
	}
	remote := map[netip.Addr]bool{}
	for _, ep := range p.Endpoints {
		if ep.Remote {
			remote[ep.IP] = true
		}
	}
	for i, lb := range p.LoadBalancers {
		service := lb.Service
		if lb.Port != "" {
			service += ":" + lb.Port
		}
		fmt.Fprintf(out, "\n#%d  %s  %s\n", i+1, lb.Kind, clean(service))
		field := func(label, value string) {
			fmt.Fprintf(out, "%s%-*s%s\n", lbIndent, labelWidth, label, value)
		}
		field("key", lb.Key().String())
		field("frontend", fmt.Sprintf("%s %s %s -> %d", lb.IPFamily, lb.Protocol, frontend(lb), lb.InternalPort))
		field("flags", decoded(uint32(lb.Flags), lb.Flags))
		field("port mapping", decoded(uint32(lb.PortMappingFlags), lb.PortMappingFlags))
		field("distribution", decoded(uint32(lb.DistributionType), lb.DistributionType))
		field("source VIP", addrOrDash(lb.SourceVIP))
		backends := make([]string, len(lb.Backends))
		for j, b := range lb.Backends {
			backends[j] = b.String()
			switch {
			case b.EndpointName != "":
				backends[j] += " (root endpoint)"
			case !remote[b.IP]:
				backends[j] += " (local)"
			}
		}
		lines := textout.Wrap(backends, lineWidth-len(lbIndent)-labelWidth)
		if len(lines) == 0 {
			lines = []string{"-"}
		}
		field(fmt.Sprintf("backends (%d)", len(lb.Backends)), lines[0])
		for _, l := range lines[1:] {
			field("", l)
		}
	}
}

// decoded renders an HNS number and its meaning: "18 LocalRoutedVIP|VipExternalIP".
func decoded(n uint32, s fmt.Stringer) string {
	name := s.String()
	if name == fmt.Sprint(n) {
		name = "(unknown)"
	}
	return fmt.Sprintf("%d %s", n, name)
}

// frontend renders the frontend VIP and port: "10.96.0.10:53",
// "[fd00::a]:53", or "(all node IPs):30080" for a load balancer without VIP.
func frontend(lb lbpolicy.LoadBalancer) string {
	if len(lb.FrontendVIPs) == 0 {
		return fmt.Sprintf("(all node IPs):%d", lb.ExternalPort)
	}
	vips := make([]string, len(lb.FrontendVIPs))
	for i, v := range lb.FrontendVIPs {
		vips[i] = netip.AddrPortFrom(v, lb.ExternalPort).String()
	}
	return strings.Join(vips, ", ")
}

func writeEndpoints(out io.Writer, node lbpolicy.Node, p lbpolicy.Plan) {
	fmt.Fprintf(out, "ENDPOINTS (%d)\n\n", len(p.Endpoints))
	if len(p.Endpoints) == 0 {
		fmt.Fprintln(out, lbIndent+"(none)")
		return
	}
	backendOf := map[netip.Addr]int{}
	clusterIPs := map[netip.Addr]bool{}
	sourceVIPs := map[netip.Addr]bool{}
	for _, lb := range p.LoadBalancers {
		for _, b := range lb.Backends {
			if b.IP.IsValid() {
				backendOf[b.IP]++
			}
		}
		if lb.Kind == lbpolicy.KindClusterIP && len(lb.FrontendVIPs) > 0 {
			clusterIPs[lb.FrontendVIPs[0]] = true
		}
		sourceVIPs[lb.SourceVIP] = true
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IP\tTYPE\tMAC\tPROVIDER ADDRESS\tROLE")
	for _, ep := range p.Endpoints {
		typ := "local"
		if ep.Remote {
			typ = "remote"
		}
		var roles []string
		switch n := backendOf[ep.IP]; n {
		case 0:
		case 1:
			roles = append(roles, "backend of 1 LB")
		default:
			roles = append(roles, fmt.Sprintf("backend of %d LBs", n))
		}
		switch {
		case clusterIPs[ep.IP]:
			roles = append(roles, "ClusterIP")
		case ep.Remote && sameMAC(ep.MACAddress, node.HostMAC):
			// An Overlay ClusterIP endpoint of a Service without load
			// balancers (no ready endpoints, say).
			roles = append(roles, "ClusterIP (no load balancer)")
		}
		if sourceVIPs[ep.IP] && !ep.Remote {
			roles = append(roles, "source VIP")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ep.IP, typ, orDash(clean(ep.MACAddress)), addrOrDash(ep.ProviderAddress), listOrDash(roles))
	}
	tw.Flush()
}

func writeDiagnostics(out io.Writer, p lbpolicy.Plan) {
	fmt.Fprintf(out, "DIAGNOSTICS (%d)\n\n", len(p.Diagnostics))
	if len(p.Diagnostics) == 0 {
		fmt.Fprintln(out, lbIndent+"(none)")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tOBJECT\tREASON\tMESSAGE")
	for _, d := range p.Diagnostics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clean(string(d.Severity)), clean(d.Object), clean(string(d.Reason)), clean(d.Message))
	}
	tw.Flush()
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

// sameMAC compares MAC addresses written with '-' or ':' in any case.
func sameMAC(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", "-")) }
	return a != "" && norm(a) == norm(b)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func addrOrDash(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

func listOrDash(items []string) string {
	cleaned := make([]string, len(items))
	for i, it := range items {
		cleaned[i] = clean(it)
	}
	return orDash(strings.Join(cleaned, ", "))
}
