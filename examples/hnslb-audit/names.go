package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/lbpolicy"
)

// clusterIndex says what the cluster knows about an address or a port: the
// pods and Services behind a backend IP (from the EndpointSlices), and the
// Services a frontend VIP or node port belongs to, so that the audit can
// name what it finds.
type clusterIndex struct {
	pods     map[netip.Addr][]string // "namespace/name" of the Pods with the IP
	services map[netip.Addr][]string // "namespace/name" of the Services whose slices list the IP
	vips     map[netip.Addr][]role   // Services' clusterIPs, externalIPs, ingress IPs
	ports    map[uint16][]role       // Services' node ports and health-check node ports
}

// role is what a VIP or port is to one Service.
type role struct {
	service string // "namespace/name"
	kind    lbpolicy.Kind
}

func newClusterIndex(services []*corev1.Service, slices []*discovery.EndpointSlice) *clusterIndex {
	c := &clusterIndex{
		pods:     map[netip.Addr][]string{},
		services: map[netip.Addr][]string{},
		vips:     map[netip.Addr][]role{},
		ports:    map[uint16][]role{},
	}
	for _, svc := range services {
		c.addService(svc)
	}
	for _, sl := range slices {
		service := ""
		if name := sl.Labels[discovery.LabelServiceName]; name != "" {
			service = sl.Namespace + "/" + name
		}
		for _, ep := range sl.Endpoints {
			pod := ""
			if ref := ep.TargetRef; ref != nil && ref.Kind == "Pod" && ref.Name != "" {
				pod = orDefault(ref.Namespace, sl.Namespace) + "/" + ref.Name
			}
			for _, s := range ep.Addresses {
				if ip, err := netip.ParseAddr(s); err == nil {
					c.pods[ip.Unmap()] = addUnique(c.pods[ip.Unmap()], pod)
					c.services[ip.Unmap()] = addUnique(c.services[ip.Unmap()], service)
				}
			}
		}
	}
	return c
}

func (c *clusterIndex) addService(svc *corev1.Service) {
	name := svc.Namespace + "/" + svc.Name
	addVIP := func(s string, kind lbpolicy.Kind) {
		if ip, err := netip.ParseAddr(s); err == nil {
			r := role{service: name, kind: kind}
			if !slices.Contains(c.vips[ip.Unmap()], r) {
				c.vips[ip.Unmap()] = append(c.vips[ip.Unmap()], r)
			}
		}
	}
	addVIP(svc.Spec.ClusterIP, lbpolicy.KindClusterIP)
	for _, s := range svc.Spec.ClusterIPs {
		addVIP(s, lbpolicy.KindClusterIP)
	}
	for _, s := range svc.Spec.ExternalIPs {
		addVIP(s, lbpolicy.KindExternalIP)
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		addVIP(in.IP, lbpolicy.KindIngress)
	}
	addPort := func(p int32, kind lbpolicy.Kind) {
		if p > 0 && p <= 65535 {
			r := role{service: name, kind: kind}
			if !slices.Contains(c.ports[uint16(p)], r) {
				c.ports[uint16(p)] = append(c.ports[uint16(p)], r)
			}
		}
	}
	for _, p := range svc.Spec.Ports {
		addPort(p.NodePort, lbpolicy.KindNodePort)
	}
	addPort(svc.Spec.HealthCheckNodePort, lbpolicy.KindHealthCheck)
}

// describe names a backend IP: "10.244.1.5 (pod default/web-1, Service
// default/web)", or the IP alone when the cluster does not know it.
func (c *clusterIndex) describe(ip netip.Addr) string {
	var parts []string
	if pods := c.pods[ip]; len(pods) > 0 {
		parts = append(parts, "pod "+strings.Join(pods, ", pod "))
	}
	if svcs := c.services[ip]; len(svcs) > 0 {
		parts = append(parts, "Service "+strings.Join(svcs, ", Service "))
	}
	if len(parts) == 0 {
		return ip.String()
	}
	return fmt.Sprintf("%s (%s)", ip, strings.Join(parts, ", "))
}

// servicesOf joins the Services of roles: "default/web, shop/front".
func servicesOf(roles []role) string {
	var names []string
	for _, r := range roles {
		names = addUnique(names, r.service)
	}
	return strings.Join(names, ", ")
}

// addUnique appends s to list unless s is "" or already there.
func addUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
