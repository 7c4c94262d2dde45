package lbpolicy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Version is an HNS version as HNS reports it ("15.5").
type Version struct {
	Major, Minor uint32
}

// newestVersion is the version assumed when a Node gives none: every
// capability present.
func newestVersion() Version { return Version{Major: 16, Minor: 0} }

// ParseVersion parses "major.minor" (a trailing ".build" is ignored).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 4 {
		return Version{}, fmt.Errorf("HNS version %q: want major.minor, e.g. 15.5", s)
	}
	major, err1 := strconv.ParseUint(parts[0], 10, 32)
	minor, err2 := strconv.ParseUint(parts[1], 10, 32)
	if err1 != nil || err2 != nil {
		return Version{}, fmt.Errorf("HNS version %q: want major.minor, e.g. 15.5", s)
	}
	return Version{Major: uint32(major), Minor: uint32(minor)}, nil
}

// String returns "major.minor".
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	return v.Major < o.Major || (v.Major == o.Major && v.Minor < o.Minor)
}

// versionRange is inclusive at both ends.
type versionRange struct{ min, max Version }

type versionRanges []versionRange

func (rs versionRanges) contains(v Version) bool {
	for _, r := range rs {
		if !v.Less(r.min) && !r.max.Less(v) {
			return true
		}
	}
	return false
}

func from(major, minor uint32) versionRange {
	return versionRange{Version{major, minor}, Version{math.MaxUint32, math.MaxUint32}}
}

func within(major, minFrom uint32) versionRange {
	return versionRange{Version{major, minFrom}, Version{major, math.MaxUint32}}
}

// The capability table. Values from hcsshim's hcn version ranges, except
// Modify: hcn enables it from 15.4, but 15.4 reports success without
// changing backends (kubernetes#131466), so hnslb starts at 15.5.
var (
	dsrVersions      = versionRanges{within(9, 3), from(10, 2)}
	ipv6Versions     = versionRanges{from(11, 10)}
	affinityVersions = versionRanges{from(12, 0)}
	modifyVersions   = versionRanges{within(15, 5), from(16, 0)}
	// Before HNS 12 (Windows Server 2019 and its semi-annual successors) a
	// non-DSR load balancer with more than 64 backends fails with 0x57
	// (kubernetes#98680).
	backendLimitVersions = versionRanges{{Version{0, 0}, Version{11, math.MaxUint32}}}
)

// Capabilities says what an HNS version can do with load balancers.
type Capabilities struct {
	// DSR: direct server return (LoadBalancer flag 1).
	DSR bool
	// IPv6: IPv6 and dual-stack load balancers.
	IPv6 bool
	// SessionAffinity: DistributionType SourceIP.
	SessionAffinity bool
	// Modify: in-place update of a load balancer's content.
	Modify bool
	// MaxNonDSRBackends limits the backends of a load balancer without DSR;
	// 0 means no limit.
	MaxNonDSRBackends int
}

// Capabilities returns what HNS at version v supports.
func (v Version) Capabilities() Capabilities {
	c := Capabilities{
		DSR:             dsrVersions.contains(v),
		IPv6:            ipv6Versions.contains(v),
		SessionAffinity: affinityVersions.contains(v),
		Modify:          modifyVersions.contains(v),
	}
	if backendLimitVersions.contains(v) {
		c.MaxNonDSRBackends = 64
	}
	return c
}
