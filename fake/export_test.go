package fake

import (
	"fmt"
	"maps"
	"slices"
)

// IndexError reports how h's indexes (index.go) differ from indexes
// rebuilt from the objects h holds, or nil.
func (h *HNS) IndexError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	byFrontend := map[frontend]holders{}
	for k, e := range h.lbs {
		fs := frontends(&e.lb)
		if !slices.Equal(fs, e.fronts) {
			return fmt.Errorf("load balancer %s: frontends %v, the entry says %v", k, fs, e.fronts)
		}
		for _, f := range fs {
			addHolder(byFrontend, f, k)
		}
	}
	byIP := map[string]holders{}
	notKeys := 0
	for k, e := range h.lbs {
		for i, c := range e.refs {
			if !h.epSlots.live(c.slot, c.gen) {
				continue
			}
			if ref, ok := h.eps[idKey(e.lb.HostComputeEndpoints[i])]; !ok || ref.slot != c.slot {
				return fmt.Errorf("load balancer %s: reference %d resolved to slot %d, a live one of another endpoint", k, i, c.slot)
			}
		}
	}
	for k, ref := range h.eps {
		ep := ref.ep
		if ep.Id != k {
			notKeys++
		}
		for _, c := range ep.IpConfigurations {
			addHolder(byIP, normAddr(c.IpAddress), k)
		}
	}
	if notKeys != h.epIDsNotKeys {
		return fmt.Errorf("%d endpoint IDs are not their keys, the count says %d", notKeys, h.epIDsNotKeys)
	}
	shared := 0
	for _, hs := range byFrontend {
		if hs.len() > 1 {
			shared++
		}
	}
	if shared != h.sharedFrontends {
		return fmt.Errorf("%d frontends are shared, the count says %d", shared, h.sharedFrontends)
	}
	if d := indexDiff(byFrontend, h.lbsByFrontend); d != "" {
		return fmt.Errorf("frontend index (want, got): %s", d)
	}
	if d := indexDiff(byIP, h.epsByIP); d != "" {
		return fmt.Errorf("IP index (want, got): %s", d)
	}
	return nil
}

// indexDiff lists the keys whose holders differ, holders compared as sets.
func indexDiff[K comparable](want, got map[K]holders) string {
	var out string
	keys := slices.Collect(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		w, g := want[k].sorted(), got[k].sorted()
		if _, ok := got[k]; ok && len(g) == 0 {
			g = []string{"(empty list kept)"}
		}
		if !slices.Equal(w, g) {
			out += fmt.Sprintf("\n  %v: %v, %v", k, w, g)
		}
	}
	return out
}

func (hs holders) sorted() []string {
	var out []string
	for i := range hs.len() {
		out = append(out, hs.at(i))
	}
	slices.Sort(out)
	return out
}
