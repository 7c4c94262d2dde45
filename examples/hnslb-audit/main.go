package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/go-logr/logr"

	"github.com/hnslb/hnslb/examples/internal/cluster"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Exit statuses.
const (
	exitOK       = 0 // dump written; or HNS matches the plan
	exitDiffers  = 1 // HNS differs from the plan
	exitUnusable = 2 // bad flags or input, no HNS, or the output could not be written

	goOn = -1 // not an exit status: parsing went well
)

// maxIgnoredListed bounds the ignored objects named in the stderr note.
const maxIgnoredListed = 5

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Usage: hnslb-audit dump [-network NAME] [-o FILE]
       hnslb-audit compare -f CLUSTER... -node NODE -hns DUMP [-service-cidr CIDR]... [-o table|json]

dump     (on the Windows node) writes what HNS holds as JSON, read-only.
compare  (anywhere) plans the cluster for the node, as hnslb-plan does, and
         compares the plan with a dump, or with collectlogs.ps1 output.

Exit status: 0 dump written / HNS matches the plan, 1 HNS differs from the
plan, 2 unusable input (or, for dump, no HNS on this machine).
Run "hnslb-audit dump -h" or "hnslb-audit compare -h" for the flags.
`

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUnusable
	}
	switch args[0] {
	case "dump":
		return runDump(args[1:], stdout, stderr)
	case "compare":
		return runCompare(args[1:], stdin, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "hnslb-audit: unknown command %q: want dump or compare\n\n%s", args[0], usage)
	return exitUnusable
}

// newClient returns the HNS client dump reads through: HNS on this Windows
// machine. Tests replace it with a fake.
var newClient = func() (hns.Client, error) {
	h, err := hns.NewHCN("", logr.Discard())
	if err != nil {
		return nil, err
	}
	return h, nil
}

// parse parses a subcommand's flags. It returns goOn to go on, or
// the exit status when the flag package has handled the arguments (help,
// or an error it printed).
func parse(flags *flag.FlagSet, args []string, summary string) int {
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), summary)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUnusable
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(flags.Output(), "hnslb-audit %s: unexpected argument %q\n", flags.Name(), flags.Arg(0))
		return exitUnusable
	}
	return goOn
}

const dumpUsage = `Usage: hnslb-audit dump [-network NAME] [-o FILE]

Writes what HNS holds on this Windows node as one JSON document,
{"Networks": [...], "LoadBalancers": [...], "Endpoints": [...]}, the objects
as hcn marshals them. Read-only: it lists, it never changes HNS.

Flags:
`

func runDump(args []string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hnslb-audit dump: "+format+"\n", a...)
		return exitUnusable
	}
	flags := flag.NewFlagSet("dump", flag.ContinueOnError)
	flags.SetOutput(stderr)
	network := flags.String("network", "", "the HNS `NAME` of the pod network (the node's networkName, e.g. flannel.4096);\nonly its endpoints are dumped (default: the endpoints of every network)")
	output := flags.String("o", "-", "write the dump to `FILE` (- is stdout)")
	if code := parse(flags, args, dumpUsage); code != goOn {
		return code
	}
	client, err := newClient()
	if err != nil {
		if hns.IsHNSUnavailable(err) {
			return fail("cannot read HNS on this machine: %v\n(run dump on the Windows node; compare reads its output anywhere)", err)
		}
		return fail("cannot read HNS: %v", err)
	}
	d, err := collectDump(context.Background(), client, *network)
	if err != nil {
		return fail("%v", err)
	}
	if err := writeTo(*output, stdout, func(w io.Writer) error { return writeDump(w, d) }); err != nil {
		return fail("writing the dump: %v", err)
	}
	where := "every network"
	if *network != "" {
		where = "network " + *network
	}
	fmt.Fprintf(stderr, "hnslb-audit dump: %d load balancer(s), %d endpoint(s) of %s\n", len(d.LoadBalancers), len(d.Endpoints), where)
	return exitOK
}

// writeTo writes to path ("-": stdout) with write.
func writeTo(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// paths is a repeatable string flag.
type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(v string) error { *p = append(*p, v); return nil }

// prefixes is a repeatable flag of CIDRs, each value one or several
// separated by commas.
type prefixes []netip.Prefix

func (p *prefixes) String() string { return fmt.Sprint(*p) }
func (p *prefixes) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		prefix, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		*p = append(*p, prefix.Masked())
	}
	return nil
}

const compareUsage = `Usage: hnslb-audit compare -f CLUSTER... -node NODE -hns DUMP [-service-cidr CIDR]... [-o table|json]

Plans the cluster for the node as hnslb-plan does, reads what HNS holds, and
reports per load-balancer key and per endpoint: match, missing (planned, not
in HNS), extra (in HNS, not planned) or different (field by field).

Flags:
`

// compareConfig is what compare's command line asks for.
type compareConfig struct {
	files    paths
	nodeFile string
	hnsPath  string
	cidrs    prefixes
	write    func(io.Writer, *report, string) error
}

func parseCompare(args []string, stderr io.Writer) (compareConfig, int, error) {
	var cfg compareConfig
	flags := flag.NewFlagSet("compare", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Var(&cfg.files, "f", "`FILE` of Services and EndpointSlices, as hnslb-plan -f reads them (repeatable; - is stdin;\na directory reads its *.yaml, *.yml, *.json)")
	flags.StringVar(&cfg.nodeFile, "node", "", "`FILE` describing the node, as hnslb-plan -node reads it; its hnsVersion should be the node's")
	flags.StringVar(&cfg.hnsPath, "hns", "", "what HNS holds: a `DUMP` file of hnslb-audit dump (or fake.HNS), - for stdin, or a directory\nof collectlogs.ps1 output (policy.txt, endpoint.txt, network.txt)")
	flags.Var(&cfg.cidrs, "service-cidr", "the cluster's Service `CIDR`s (repeatable, or comma-separated): an extra load balancer\nwith a VIP there looks like a deleted Service's rather than foreign")
	output := flags.String("o", "table", "output `format`: table or json")
	if code := parse(flags, args, compareUsage); code != goOn {
		return cfg, code, nil
	}
	switch *output {
	case "table":
		cfg.write = writeTable
	case "json":
		cfg.write = func(w io.Writer, r *report, _ string) error { return writeJSON(w, r) }
	default:
		return cfg, goOn, fmt.Errorf("-o %q: want table or json", *output)
	}
	switch {
	case len(cfg.files) == 0:
		return cfg, goOn, errors.New("-f: give the cluster's Services and EndpointSlices (kubectl get svc,endpointslices -A -o yaml > cluster.yaml)")
	case cfg.nodeFile == "":
		return cfg, goOn, errors.New("-node: give the node file (as hnslb-plan -node reads it)")
	case cfg.hnsPath == "":
		return cfg, goOn, errors.New("-hns: give what HNS holds (the output of hnslb-audit dump, or a collectlogs.ps1 directory)")
	case cfg.hnsPath == "-" && slices.Contains(cfg.files, "-"):
		return cfg, goOn, errors.New(`stdin ("-") can be read only once: give -f or -hns as a file`)
	}
	return cfg, goOn, nil
}

func runCompare(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hnslb-audit compare: "+format+"\n", a...)
		return exitUnusable
	}
	cfg, code, err := parseCompare(args, stderr)
	switch {
	case err != nil:
		return fail("%v", err)
	case code != goOn:
		return code
	}
	node, err := cluster.ReadNode(cfg.nodeFile)
	if err != nil {
		return fail("%v", err)
	}
	objs, err := cluster.ReadPaths(cfg.files, stdin)
	if err != nil {
		return fail("%v", err)
	}
	if n := len(objs.Ignored); n > 0 {
		listed := objs.Ignored[:min(n, maxIgnoredListed)]
		more := ""
		if n > len(listed) {
			more = fmt.Sprintf(" and %d more", n-len(listed))
		}
		fmt.Fprintf(stderr, "hnslb-audit compare: note: ignored %d object(s) that are neither Services nor EndpointSlices: %s%s\n",
			n, strings.Join(listed, ", "), more)
	}
	plan, err := lbpolicy.Compute(node, objs.Services, objs.EndpointSlices)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), lbpolicy.ErrInvalidNode.Error()+": ")
		return fail("invalid node in %s:\n  %s", cfg.nodeFile, strings.ReplaceAll(msg, "\n", "\n  "))
	}
	dump, err := readHNS(cfg.hnsPath, stdin)
	if err != nil {
		return fail("%v", err)
	}
	rep := compare(&plan, node, newClusterIndex(objs.Services, objs.EndpointSlices), cfg.cidrs, &dump)
	if err := cfg.write(stdout, &rep, cfg.hnsPath); err != nil {
		return fail("writing the report: %v", err)
	}
	if rep.differs() {
		fmt.Fprintf(stderr, "hnslb-audit compare: HNS differs from the plan: %s\n", rep.summary())
		return exitDiffers
	}
	return exitOK
}
