package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hnslb/hnslb/examples/internal/cluster"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// Exit statuses.
const (
	exitOK         = 0 // every step synced without error
	exitStepErrors = 1 // some step had per-object errors, a failed sync, or error diagnostics
	exitUnusable   = 2 // nothing replayed
)

// maxIgnoredListed bounds the ignored objects named in a stderr note.
const maxIgnoredListed = 5

// defaultBatch is the number of events per step in event mode.
const defaultBatch = 1

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `Usage: hnslb-sync [-node FILE] [-profile NAME] [-restart-at N] [-claim-network] [-dump] [-o table|json] [STATE]...
       hnslb-sync -events FILE [-batch N] [-node FILE] [-profile NAME] [-restart-at N] [-claim-network] [-dump] [-o table|json]

Replays cluster states, or watch events, against an in-memory HNS (package
fake) and prints, per step, the HNS calls the Reconciler made, the load
balancers it created, updated and deleted, and (-dump) what HNS holds
afterwards.

Each STATE is one step: a file or a directory (its *.yaml, *.yml and *.json
files) of Services and EndpointSlices, as hnslb-plan -f reads them; "-" is
stdin. Without STATE and -events, replays a built-in demo: the sample
cluster, one of its pods replaced, one of its Services deleted.

Flags:
`

// config is what the command line asks for.
type config struct {
	nodeFile     string
	profile      string // "" = from the node
	restartAt    int    // 0 = never
	eventsFile   string // "" = state mode
	batch        int
	claimNetwork bool
	dump         bool // show HNS's state after each step
	write        func(io.Writer, header, []stepResult) error
	states       []string
}

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "hnslb-sync: "+format+"\n", a...)
		return exitUnusable
	}
	note := func(format string, a ...any) {
		fmt.Fprintf(stderr, "hnslb-sync: note: "+format+"\n", a...)
	}

	cfg, code, err := parseFlags(args, stderr)
	switch {
	case err != nil:
		return fail("%v", err)
	case code >= 0:
		return code
	}
	node, profile, err := loadNode(cfg, note)
	if err != nil {
		return fail("%v", err)
	}
	src, err := loadSteps(cfg, stdin, note)
	if err != nil {
		return fail("%v", err)
	}
	if cfg.restartAt > src.len() {
		return fail("-restart-at %d: there are only %d steps", cfg.restartAt, src.len())
	}

	rp, err := newReplay(node, profile, cfg.claimNetwork)
	if err != nil {
		return fail("%v", err)
	}
	results, err := rp.run(context.Background(), src, cfg.restartAt)
	if err != nil {
		return fail("%v", err)
	}
	h := header{profile: profile, node: node, steps: len(results), dump: cfg.dump}
	if err := cfg.write(stdout, h, results); err != nil {
		return fail("writing the output: %v", err)
	}
	failed := 0
	for i, r := range results {
		if r.failed() {
			failed++
			fmt.Fprintf(stderr, "hnslb-sync: step %d (%s): %s\n", i+1, r.name, r.problems())
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "hnslb-sync: %d of %d step(s) had errors\n", failed, len(results))
		return exitStepErrors
	}
	return exitOK
}

// parseFlags reads the command line. It returns an exit status >= 0 when
// the flag package has handled it (help, or an error it printed), else -1;
// an error is a bad combination of flags.
func parseFlags(args []string, stderr io.Writer) (config, int, error) {
	var cfg config
	flags := flag.NewFlagSet("hnslb-sync", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&cfg.nodeFile, "node", "", "`FILE` describing the node, YAML or JSON, as hnslb-plan reads it (default: the sample node)")
	flags.StringVar(&cfg.profile, "profile", "", "HNS `NAME`: ws2019, ws2022, ws2025 or latest; it replaces the node's hnsVersion\n(default: the node's hnsVersion, or latest if it has none)")
	flags.IntVar(&cfg.restartAt, "restart-at", 0, "drop the Reconciler and start a new one (on the same HNS) before step `N`, 2 or later")
	flags.StringVar(&cfg.eventsFile, "events", "", "replay the watch events in `FILE` (kubectl get --watch --output-watch-events -o json|yaml;\n- is stdin) through an lbpolicy.Tracker instead of states")
	flags.IntVar(&cfg.batch, "batch", defaultBatch, "with -events: `N` events (Services and EndpointSlices) per step")
	flags.BoolVar(&cfg.claimNetwork, "claim-network", false, "the Reconciler owns every load balancer and remote endpoint on the network\n(hnsadapter.Options.ClaimNetwork), so a restarted one deletes what the plan no longer wants")
	flags.BoolVar(&cfg.dump, "dump", false, "with -o table: after each step, also what HNS holds, every object (hnsdiag style, without IDs)")
	output := flags.String("o", "table", "output `format`: table or json")
	flags.Usage = func() {
		fmt.Fprint(flags.Output(), usage)
		flags.PrintDefaults()
		fmt.Fprint(flags.Output(), "\nExit status: 0 every step synced without error, 1 a step had errors, 2 unusable input.\n")
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, exitOK, nil
		}
		return cfg, exitUnusable, nil // the flag package has printed the error and the usage
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.states = flags.Args()

	switch *output {
	case "table":
		cfg.write = writeTable
	case "json":
		cfg.write = func(w io.Writer, _ header, steps []stepResult) error { return writeJSON(w, steps) }
	default:
		return cfg, -1, fmt.Errorf("-o %q: want table or json", *output)
	}
	switch {
	case cfg.restartAt < 0 || set["restart-at"] && cfg.restartAt < 2:
		return cfg, -1, fmt.Errorf("-restart-at %d: want a step number, 2 or later (step 1 always starts a new Reconciler)", cfg.restartAt)
	case cfg.batch < 1:
		return cfg, -1, fmt.Errorf("-batch %d: want 1 or more events per step", cfg.batch)
	case set["batch"] && !set["events"]:
		return cfg, -1, errors.New("-batch applies to -events only")
	case cfg.dump && *output != "table":
		return cfg, -1, errors.New("-dump applies to -o table only")
	case set["events"] && cfg.eventsFile == "":
		return cfg, -1, errors.New(`-events: give a file, or "-" for stdin`)
	case set["profile"] && cfg.profile == "":
		return cfg, -1, errors.New("-profile: give a profile name: ws2019, ws2022, ws2025 or latest")
	}
	for _, a := range cfg.states {
		if len(a) > 1 && a[0] == '-' {
			return cfg, -1, fmt.Errorf("%q after the states: give flags before them (a file named so: ./%s)", a, a)
		}
	}
	if cfg.eventsFile != "" && len(cfg.states) > 0 {
		return cfg, -1, fmt.Errorf("unexpected argument %q: give either states or -events, not both", cfg.states[0])
	}
	return cfg, -1, nil
}

// loadNode reads the node and chooses the HNS profile: -profile, which
// then replaces the node's hnsVersion, or the node's hnsVersion.
func loadNode(cfg config, note func(string, ...any)) (lbpolicy.Node, hns.Profile, error) {
	var profile hns.Profile
	if cfg.profile != "" {
		var err error
		if profile, err = hns.ProfileNamed(cfg.profile); err != nil {
			return lbpolicy.Node{}, profile, fmt.Errorf("-profile: %w", err)
		}
	}
	node, _ := cluster.Sample()
	source := "the built-in sample node"
	if cfg.nodeFile != "" {
		var err error
		if node, err = cluster.ReadNode(cfg.nodeFile); err != nil {
			return node, profile, err
		}
		source = cfg.nodeFile
	}
	if cfg.profile != "" {
		if v := profile.Version.String(); node.HNSVersion != "" && node.HNSVersion != v {
			note("planning for HNS %s (profile %s), not the hnsVersion %s of %s", v, profile.Name, node.HNSVersion, source)
		}
		node.HNSVersion = profile.Version.String()
	}
	if err := node.Validate(); err != nil {
		msg := strings.TrimPrefix(err.Error(), lbpolicy.ErrInvalidNode.Error()+": ")
		return node, profile, fmt.Errorf("invalid node in %s:\n  %s", source, strings.ReplaceAll(msg, "\n", "\n  "))
	}
	if node.NetworkName == "" {
		return node, profile, fmt.Errorf("the node in %s has no networkName: the HNS network to sync (as hnsdiag list networks names it)", source)
	}
	if cfg.profile == "" {
		profile = profileOf(node)
	}
	return node, profile, nil
}

// loadSteps reads the steps: the events file, the states, or the demo.
func loadSteps(cfg config, stdin io.Reader, note func(string, ...any)) (source, error) {
	switch {
	case cfg.eventsFile != "":
		evs, err := cluster.ReadEvents(cfg.eventsFile, stdin)
		if err != nil {
			return nil, err
		}
		if n := len(evs.Ignored); n > 0 {
			note("skipped %d event(s) that are not about Services or EndpointSlices: %s", n, listSome(evs.Ignored))
		}
		if len(evs.Events) == 0 {
			return nil, fmt.Errorf("%s: no events on Services or EndpointSlices", sourceName(cfg.eventsFile))
		}
		return newEventSource(evs.Events, cfg.batch), nil
	case len(cfg.states) > 0:
		steps, err := readStates(cfg.states, stdin, note)
		if err != nil {
			return nil, err
		}
		return &stateSource{steps: steps}, nil
	}
	return &stateSource{steps: demoSteps()}, nil
}

// profileOf returns the profile of the node's (valid) hnsVersion, or the
// latest one.
func profileOf(node lbpolicy.Node) hns.Profile {
	all := hns.Profiles()
	if node.HNSVersion == "" {
		return all[len(all)-1]
	}
	v, err := lbpolicy.ParseVersion(node.HNSVersion)
	if err != nil { // Validate has accepted it
		return all[len(all)-1]
	}
	return hns.ProfileFor(v)
}

// readStates reads one step per path.
func readStates(paths []string, stdin io.Reader, note func(string, ...any)) ([]state, error) {
	steps := make([]state, 0, len(paths))
	usedStdin := false
	for i, p := range paths {
		if p == cluster.Stdin {
			if usedStdin {
				return nil, errors.New(`stdin ("-") can be read only once`)
			}
			usedStdin = true
		}
		objs, err := cluster.ReadPaths([]string{p}, stdin)
		if err != nil {
			return nil, err
		}
		if n := len(objs.Ignored); n > 0 {
			note("step %d (%s): ignored %d object(s) that are neither Services nor EndpointSlices: %s", i+1, sourceName(p), n, listSome(objs.Ignored))
		}
		if len(objs.Services) == 0 {
			note("step %d (%s): no Services", i+1, sourceName(p))
		}
		steps = append(steps, state{name: sourceName(p), objs: objs})
	}
	return steps, nil
}

func sourceName(path string) string {
	if path == cluster.Stdin {
		return "<stdin>"
	}
	return path
}

// listSome joins the first few items, saying how many more there are.
func listSome(items []string) string {
	listed := items[:min(len(items), maxIgnoredListed)]
	s := strings.Join(listed, ", ")
	if n := len(items) - len(listed); n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	return s
}
