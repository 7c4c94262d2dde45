package hns

import (
	"fmt"
	"strings"

	"github.com/hnslb/hnslb/lbpolicy"
)

// Profile names an HNS release by the version it reports. Capabilities
// follow from the version alone (lbpolicy.Version.Capabilities).
type Profile struct {
	Name    string
	Version lbpolicy.Version
}

// SilentUpdate reports the HNS 15.4 bug: an update reports success but
// keeps the old backends (kubernetes#131466). The Reconciler never updates
// in place on such a version; the fake reproduces the bug.
func (p Profile) SilentUpdate() bool {
	return p.Version == lbpolicy.Version{Major: 15, Minor: 4}
}

// Capabilities returns what the profile's HNS can do.
func (p Profile) Capabilities() lbpolicy.Capabilities { return p.Version.Capabilities() }

// Profiles returns the named profiles, oldest first. The versions are those
// the releases report when fully patched; pass the version a node really
// reports (Client.Version) wherever it is known.
func Profiles() []Profile {
	return []Profile{
		{Name: "ws2019", Version: lbpolicy.Version{Major: 10, Minor: 3}}, // DSR; no IPv6, no affinity, no update, 64-backend limit
		{Name: "ws2022", Version: lbpolicy.Version{Major: 13, Minor: 3}}, // + IPv6, session affinity; no update
		{Name: "ws2025", Version: lbpolicy.Version{Major: 15, Minor: 4}}, // update exists but is silently ignored
		{Name: "latest", Version: lbpolicy.Version{Major: 16, Minor: 0}}, // everything
	}
}

// ProfileNamed returns the profile called name (case-insensitive).
func ProfileNamed(name string) (Profile, error) {
	var names []string
	for _, p := range Profiles() {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("unknown HNS profile %q: want one of %s", name, strings.Join(names, ", "))
}

// ProfileFor returns the named profile of version v, or an unnamed one.
func ProfileFor(v lbpolicy.Version) Profile {
	for _, p := range Profiles() {
		if p.Version == v {
			return p
		}
	}
	return Profile{Name: "hns-" + v.String(), Version: v}
}
