package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hnslb/hnslb/examples/internal/cluster"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Exit statuses.
const (
	exitOK         = 0 // a plan without error diagnostics
	exitPlanErrors = 1 // a plan with error diagnostics
	exitUnusable   = 2 // no plan
)

// maxIgnoredListed bounds the ignored objects named in the stderr note.
const maxIgnoredListed = 5

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// paths is a repeatable string flag.
type paths []string

func (p *paths) String() string     { return strings.Join(*p, ",") }
func (p *paths) Set(v string) error { *p = append(*p, v); return nil }

const usage = `Usage: hnslb-plan [-f FILE]... [-node FILE] [-o table|json]

Prints the HNS load balancers and endpoints hnslb would program on a Windows
node. Without -f, plans the built-in sample cluster; without -node, for the
built-in sample node.

Flags:
`

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hnslb-plan: "+format+"\n", a...)
		return exitUnusable
	}

	flags := flag.NewFlagSet("hnslb-plan", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var files paths
	flags.Var(&files, "f", "`FILE` of Services and EndpointSlices, YAML or JSON (repeatable; - is stdin;\na directory reads its *.yaml, *.yml, *.json) (default: the sample cluster)")
	nodeFile := flags.String("node", "", "`FILE` describing the node, YAML or JSON (default: the sample node)")
	output := flags.String("o", "table", "output `format`: table or json")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
		fmt.Fprint(flags.Output(), "\nExit status: 0 plan printed, 1 plan has error diagnostics, 2 unusable input.\n")
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUnusable // the flag package has printed the error and the usage
	}
	if flags.NArg() > 0 {
		return fail("unexpected argument %q: give input files with -f", flags.Arg(0))
	}
	var write func(io.Writer, lbpolicy.Node, lbpolicy.Plan) error
	switch *output {
	case "table":
		write = writeTable
	case "json":
		write = func(w io.Writer, _ lbpolicy.Node, p lbpolicy.Plan) error { return writeJSON(w, p) }
	default:
		return fail("-o %q: want table or json", *output)
	}

	if len(files) > 0 {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(memoryLimit(files)))
	}
	node, nodeSource, objs, err := readInputs(*nodeFile, files, stdin, stderr)
	if err != nil {
		return fail("%v", err)
	}
	plan, err := lbpolicy.Compute(node, objs.Services, objs.EndpointSlices)
	if err != nil {
		if errors.Is(err, lbpolicy.ErrInvalidNode) {
			msg := strings.TrimPrefix(err.Error(), lbpolicy.ErrInvalidNode.Error()+": ")
			return fail("invalid node in %s:\n  %s", nodeSource, strings.ReplaceAll(msg, "\n", "\n  "))
		}
		return fail("cannot plan: %v", err)
	}
	objs = nil // the plan is all that is left to write
	if err := write(stdout, node, plan); err != nil {
		return fail("writing the plan: %v", err)
	}
	if plan.HasErrors() {
		n := 0
		for _, d := range plan.Diagnostics {
			if d.Severity == lbpolicy.SeverityError {
				n++
			}
		}
		fmt.Fprintf(stderr, "hnslb-plan: the plan has %d error diagnostic(s)\n", n)
		return exitPlanErrors
	}
	return exitOK
}

// readInputs reads the node and the cluster objects, the sample's where
// none is given, and notes on stderr what it ignored.
func readInputs(nodeFile string, files []string, stdin io.Reader, stderr io.Writer) (lbpolicy.Node, string, *cluster.Objects, error) {
	node, objs := cluster.Sample()
	nodeSource := "the built-in sample node"
	if nodeFile != "" {
		var err error
		if node, err = cluster.ReadNode(nodeFile); err != nil {
			return node, "", nil, err
		}
		nodeSource = nodeFile
	}
	if len(files) > 0 {
		var err error
		if objs, err = (cluster.ReadOptions{PlanOnly: true}).ReadPaths(files, stdin); err != nil {
			return node, "", nil, err
		}
	}
	if n := len(objs.Ignored); n > 0 {
		listed := objs.Ignored[:min(n, maxIgnoredListed)]
		more := ""
		if n > len(listed) {
			more = fmt.Sprintf(" and %d more", n-len(listed))
		}
		fmt.Fprintf(stderr, "hnslb-plan: note: ignored %d object(s) that are neither Services nor EndpointSlices: %s%s\n",
			n, strings.Join(listed, ", "), more)
	}

	if len(files) > 0 && len(objs.Services) == 0 {
		fmt.Fprintf(stderr, "hnslb-plan: note: no Services in %s\n", strings.Join(files, ", "))
	}

	return node, nodeSource, objs, nil
}

// memoryLimit returns the soft memory limit for planning the input files:
// 3.5 times their size, when they are large. Decoding allocates about 40
// times the input in short-lived garbage while what it keeps (the objects,
// then the plan) stays under 3 times the input; with Go's default pacing
// the heap would grow to twice what is kept before collecting, and a 100
// MB input would peak near 700 MB. The limit makes the collector run
// earlier instead. Small inputs, stdin and unreadable paths keep the
// default (no limit).
func memoryLimit(files []string) int64 {
	const minInput = 16 << 20
	var size int64
	for _, f := range files {
		if f == cluster.Stdin {
			return math.MaxInt64
		}
		info, err := os.Stat(f)
		if err != nil || info.IsDir() {
			return math.MaxInt64
		}
		size += info.Size()
	}
	if size < minInput {
		return math.MaxInt64
	}
	return size * 7 / 2
}
