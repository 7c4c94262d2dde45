package hnsstub

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// HRESULTs the server returns besides the fake's.
const (
	sOK         uint32 = 0
	eNotImpl    uint32 = 0x80004001 // E_NOTIMPL
	eFail       uint32 = 0x80004005 // E_FAIL
	eHandle     uint32 = 0x80070006 // E_HANDLE (ERROR_INVALID_HANDLE)
	eInvalidArg uint32 = 0x80070057 // E_INVALIDARG (ERROR_INVALID_PARAMETER)
	eNotFound   uint32 = 0x80070490 // ERROR_NOT_FOUND
)

// zeroGUID is what hcn passes to HcnCreate*: "HNS, choose the ID".
const zeroGUID = "00000000-0000-0000-0000-000000000000"

// kind is the type of object a handle refers to.
type kind string

const (
	kindNetwork      kind = "network"
	kindEndpoint     kind = "endpoint"
	kindLoadBalancer kind = "load balancer"
)

// object is what an open handle refers to.
type object struct {
	kind kind
	id   string
	// modified is the load balancer HcnModifyLoadBalancer returned on this
	// handle, which a query on the handle then returns; nil: the current
	// state.
	modified *hns.HostComputeLoadBalancer
}

// handlers are the functions the server models; every other function of
// the DLLs is notModelled.
var handlers = map[string]func(*Server, *request) answer{
	"HNSCall": (*Server).hnsCall,

	"HcnEnumerateNetworks":      (*Server).enumerateNetworks,
	"HcnOpenNetwork":            openHandler(kindNetwork),
	"HcnQueryNetworkProperties": (*Server).queryNetwork,
	"HcnCloseNetwork":           closeHandler(kindNetwork),

	"HcnEnumerateEndpoints":      (*Server).enumerateEndpoints,
	"HcnCreateEndpoint":          (*Server).createEndpoint,
	"HcnOpenEndpoint":            openHandler(kindEndpoint),
	"HcnQueryEndpointProperties": (*Server).queryEndpoint,
	"HcnDeleteEndpoint":          (*Server).deleteEndpoint,
	"HcnCloseEndpoint":           closeHandler(kindEndpoint),

	"HcnEnumerateLoadBalancers":      (*Server).enumerateLoadBalancers,
	"HcnCreateLoadBalancer":          (*Server).createLoadBalancer,
	"HcnOpenLoadBalancer":            openHandler(kindLoadBalancer),
	"HcnModifyLoadBalancer":          (*Server).modifyLoadBalancer,
	"HcnQueryLoadBalancerProperties": (*Server).queryLoadBalancer,
	"HcnDeleteLoadBalancer":          (*Server).deleteLoadBalancer,
	"HcnCloseLoadBalancer":           closeHandler(kindLoadBalancer),
}

func (s *Server) dispatch(r *request) answer {
	if h, ok := handlers[r.fn]; ok {
		return h(s, r)
	}
	return notModelled(r.fn)
}

// Answers.

// errorRecord is the JSON record HNS returns beside a failed call.
type errorRecord struct {
	Success   bool   `json:"Success"`
	Error     string `json:"Error"`
	ErrorCode uint32 `json:"ErrorCode"`
}

// failure returns hr with an error record holding text (HNS ends its text
// with a space).
func failure(hr uint32, text string) answer {
	b, _ := json.Marshal(errorRecord{Error: text + " ", ErrorCode: hr})
	rec := string(b)
	return answer{hr: hr, result: &rec}
}

func notModelled(fn string) answer {
	return failure(eNotImpl, "Not implemented: the stand-in HNS (hnsstub) does not model "+fn+".")
}

func success(out string) answer { return answer{hr: sOK, out: &out} }

func successJSON(v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return failure(eFail, "hnsstub: encoding the answer: "+err.Error())
	}
	return success(string(b))
}

// fromFake returns the failure HNS would return for the fake's err: its
// code as an HRESULT and its error record. The fake gives no record for a
// missing HNS (0x7E), where HNS never answered; nor does the server.
func fromFake(err error) answer {
	var e *hns.Error
	if !errors.As(err, &e) || e.Code == 0 {
		return failure(eFail, "Unspecified error: "+err.Error())
	}
	hr := hresult(e.Code)
	if e.Record == "" {
		return answer{hr: hr}
	}
	rec := e.Record
	return answer{hr: hr, result: &rec}
}

// hresult is the HRESULT of a code as hnsadapter reports it: Win32 codes in
// FACILITY_WIN32, others as they are (hcn reverses this).
func hresult(code hns.Code) uint32 {
	if code <= 0xFFFF {
		return 0x80070000 | uint32(code)
	}
	return uint32(code)
}

// lookupMissed reports the fake's "nothing found" for a lookup by name or
// ID: hcn's own not-found error, which carries no record because hcn makes
// it from an empty enumeration.
func lookupMissed(err error) bool {
	var e *hns.Error
	return errors.As(err, &e) && e.Code == hns.CodeNotFound && e.Record == ""
}

// missing is HNS's failure for an object that does not exist: the record
// holds HNS's text only, as the fake's records do.
func missing() answer { return failure(eNotFound, "Element not found.") }

// Arguments.

// hcnQuery is the query hcn sends to HcnEnumerate* and HcnQuery*.
type hcnQuery struct {
	SchemaVersion hns.SchemaVersion
	Flags         uint32
	Filter        string
}

// filter parses a query and returns its filter, whose keys must be among
// allowed.
func filter(q *string, allowed ...string) (map[string]string, *answer) {
	if q == nil {
		a := failure(eInvalidArg, "The parameter is incorrect. (hnsstub: no query)")
		return nil, &a
	}
	var hq hcnQuery
	if err := json.Unmarshal([]byte(*q), &hq); err != nil {
		a := failure(eInvalidArg, "The parameter is incorrect. (hnsstub: query: "+err.Error()+")")
		return nil, &a
	}
	if hq.SchemaVersion.Major != 2 {
		a := failure(eInvalidArg, fmt.Sprintf("The parameter is incorrect. (hnsstub: query schema version %d.%d, want 2.x)", hq.SchemaVersion.Major, hq.SchemaVersion.Minor))
		return nil, &a
	}
	out := map[string]string{}
	if hq.Filter == "" {
		return out, nil
	}
	var f map[string]string
	if err := json.Unmarshal([]byte(hq.Filter), &f); err != nil {
		a := failure(eInvalidArg, "The parameter is incorrect. (hnsstub: query filter: "+err.Error()+")")
		return nil, &a
	}
	for k, v := range f {
		key, ok := canonical(allowed, k)
		if !ok {
			a := failure(eNotImpl, fmt.Sprintf("Not implemented: the stand-in HNS (hnsstub) cannot filter on %q here (only %s).", k, strings.Join(allowed, ", ")))
			return nil, &a
		}
		out[key] = v
	}
	return out, nil
}

// canonical returns the spelling in keys of the JSON key k (encoding/json
// matches keys case-insensitively; so does HNS's schema).
func canonical(keys []string, k string) (string, bool) {
	for _, key := range keys {
		if strings.EqualFold(key, k) {
			return key, true
		}
	}
	return "", false
}

// settings decodes the JSON settings of a create or modify into v.
func settings(s *string, v any) *answer {
	if s == nil {
		a := failure(eInvalidArg, "The parameter is incorrect. (hnsstub: no settings)")
		return &a
	}
	if err := json.Unmarshal([]byte(*s), v); err != nil {
		a := failure(eInvalidArg, "The parameter is incorrect. (hnsstub: settings: "+err.Error()+")")
		return &a
	}
	return nil
}

// newObjectID checks the GUID passed to HcnCreate*: the fake chooses IDs,
// so only the zero GUID ("choose one") is accepted.
func newObjectID(r *request) *answer {
	if r.id != "" && r.id != zeroGUID {
		a := failure(eNotImpl, "Not implemented: the stand-in HNS (hnsstub) cannot create an object with a chosen ID ("+r.id+").")
		return &a
	}
	return nil
}

func idList[T any](objs []T, id func(*T) string) answer {
	ids := make([]string, 0, len(objs))
	for i := range objs {
		ids = append(ids, id(&objs[i]))
	}
	return successJSON(ids)
}

// Handles.

func (s *Server) newHandle(o *object) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.handles[s.next] = o
	return s.next
}

// object returns the object handle refers to, if it is open and of kind k.
func (s *Server) object(handle uint64, k kind) (*object, *answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.handles[handle]
	if !ok || o.kind != k {
		a := failure(eHandle, fmt.Sprintf("The handle is invalid. (hnsstub: %d is no open %s handle)", handle, k))
		return nil, &a
	}
	return o, nil
}

// openHandler returns the handler of HcnOpen<kind>: a handle to an
// existing object, or 0x80070490.
func openHandler(k kind) func(*Server, *request) answer {
	return func(s *Server, r *request) answer {
		if r.id == "" {
			return failure(eInvalidArg, "The parameter is incorrect. (hnsstub: no ID)")
		}
		var found bool
		switch k {
		case kindNetwork:
			_, found = s.network(r.id)
		case kindEndpoint:
			_, found = s.endpoint(r.id)
		case kindLoadBalancer:
			_, found = s.loadBalancer(r.id)
		}
		if !found {
			return missing()
		}
		return answer{hr: sOK, handle: s.newHandle(&object{kind: k, id: r.id})}
	}
}

// closeHandler returns the handler of HcnClose<kind>.
func closeHandler(k kind) func(*Server, *request) answer {
	return func(s *Server, r *request) answer {
		if _, bad := s.object(r.handle, k); bad != nil {
			return *bad
		}
		s.mu.Lock()
		delete(s.handles, r.handle)
		s.mu.Unlock()
		return answer{hr: sOK}
	}
}

// The fake's current state, read without a Client call.

func (s *Server) network(id string) (hns.HostComputeNetwork, bool) {
	for _, n := range s.h.Networks() {
		if strings.EqualFold(n.Id, id) {
			return n, true
		}
	}
	return hns.HostComputeNetwork{}, false
}

func (s *Server) endpoint(id string) (hns.HostComputeEndpoint, bool) {
	for _, ep := range s.h.Endpoints() {
		if strings.EqualFold(ep.Id, id) {
			return ep, true
		}
	}
	return hns.HostComputeEndpoint{}, false
}

func (s *Server) loadBalancer(id string) (hns.HostComputeLoadBalancer, bool) {
	for _, lb := range s.h.LoadBalancers() {
		if strings.EqualFold(lb.Id, id) {
			return lb, true
		}
	}
	return hns.HostComputeLoadBalancer{}, false
}

// Networks.

func (s *Server) enumerateNetworks(r *request) answer {
	f, bad := filter(r.str[0], "ID", "Name")
	if bad != nil {
		return *bad
	}
	var nws []hns.HostComputeNetwork
	if name, ok := f["Name"]; ok {
		nw, err := s.h.GetNetworkByName(s.ctx, name)
		switch {
		case err == nil:
			nws = append(nws, *nw)
		case !lookupMissed(err):
			return fromFake(err)
		}
	} else {
		nws = s.h.Networks()
	}
	if id, ok := f["ID"]; ok {
		nws = keep(nws, func(n *hns.HostComputeNetwork) bool { return strings.EqualFold(n.Id, id) })
	}
	return idList(nws, func(n *hns.HostComputeNetwork) string { return n.Id })
}

func (s *Server) queryNetwork(r *request) answer {
	o, bad := s.object(r.handle, kindNetwork)
	if bad != nil {
		return *bad
	}
	nw, ok := s.network(o.id)
	if !ok {
		return missing()
	}
	return successJSON(nw)
}

// Endpoints.

func (s *Server) enumerateEndpoints(r *request) answer {
	f, bad := filter(r.str[0], "ID", "Name", "VirtualNetwork")
	if bad != nil {
		return *bad
	}
	eps, err := s.h.ListEndpoints(s.ctx, f["VirtualNetwork"])
	if err != nil {
		return fromFake(err)
	}
	if id, ok := f["ID"]; ok {
		eps = keep(eps, func(ep *hns.HostComputeEndpoint) bool { return strings.EqualFold(ep.Id, id) })
	}
	if name, ok := f["Name"]; ok {
		eps = keep(eps, func(ep *hns.HostComputeEndpoint) bool { return ep.Name == name })
	}
	return idList(eps, func(ep *hns.HostComputeEndpoint) string { return ep.Id })
}

func (s *Server) createEndpoint(r *request) answer {
	nw, bad := s.object(r.handle, kindNetwork)
	if bad != nil {
		return *bad
	}
	if bad := newObjectID(r); bad != nil {
		return *bad
	}
	var ep hns.HostComputeEndpoint
	if bad := settings(r.str[0], &ep); bad != nil {
		return *bad
	}
	got, err := s.h.CreateEndpoint(s.ctx, nw.id, &ep)
	if err != nil {
		return fromFake(err)
	}
	return answer{hr: sOK, handle: s.newHandle(&object{kind: kindEndpoint, id: got.Id})}
}

func (s *Server) queryEndpoint(r *request) answer {
	o, bad := s.object(r.handle, kindEndpoint)
	if bad != nil {
		return *bad
	}
	ep, ok := s.endpoint(o.id)
	if !ok {
		return missing()
	}
	return successJSON(ep)
}

func (s *Server) deleteEndpoint(r *request) answer {
	if err := s.h.DeleteEndpoint(s.ctx, r.id); err != nil {
		return fromFake(err)
	}
	return answer{hr: sOK}
}

// Load balancers.

func (s *Server) enumerateLoadBalancers(r *request) answer {
	f, bad := filter(r.str[0], "ID")
	if bad != nil {
		return *bad
	}
	var lbs []hns.HostComputeLoadBalancer
	if id, ok := f["ID"]; ok {
		lb, err := s.h.GetLoadBalancer(s.ctx, id)
		switch {
		case err == nil:
			lbs = append(lbs, *lb)
		case !lookupMissed(err):
			return fromFake(err)
		}
	} else {
		var err error
		if lbs, err = s.h.ListLoadBalancers(s.ctx); err != nil {
			return fromFake(err)
		}
	}
	return idList(lbs, func(lb *hns.HostComputeLoadBalancer) string { return lb.Id })
}

func (s *Server) createLoadBalancer(r *request) answer {
	if bad := newObjectID(r); bad != nil {
		return *bad
	}
	var lb hns.HostComputeLoadBalancer
	if bad := settings(r.str[0], &lb); bad != nil {
		return *bad
	}
	got, err := s.h.CreateLoadBalancer(s.ctx, &lb)
	if err != nil {
		return fromFake(err)
	}
	return answer{hr: sOK, handle: s.newHandle(&object{kind: kindLoadBalancer, id: got.Id})}
}

func (s *Server) modifyLoadBalancer(r *request) answer {
	o, bad := s.object(r.handle, kindLoadBalancer)
	if bad != nil {
		return *bad
	}
	var lb hns.HostComputeLoadBalancer
	if bad := settings(r.str[0], &lb); bad != nil {
		return *bad
	}
	got, err := s.h.UpdateLoadBalancer(s.ctx, o.id, &lb)
	if err != nil {
		return fromFake(err)
	}
	s.mu.Lock()
	o.modified = got
	s.mu.Unlock()
	return answer{hr: sOK}
}

func (s *Server) queryLoadBalancer(r *request) answer {
	o, bad := s.object(r.handle, kindLoadBalancer)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	modified := o.modified
	s.mu.Unlock()
	if modified != nil {
		return successJSON(modified)
	}
	lb, ok := s.loadBalancer(o.id)
	if !ok {
		return missing()
	}
	return successJSON(lb)
}

func (s *Server) deleteLoadBalancer(r *request) answer {
	if err := s.h.DeleteLoadBalancer(s.ctx, r.id); err != nil {
		return fromFake(err)
	}
	return answer{hr: sOK}
}

// HNSCall (vmcompute.dll): HNS's v1 API, of which hcn uses only the version.

// hnsResponse is HNSCall's response.
type hnsResponse struct {
	Success bool
	Error   string `json:",omitempty"`
	Output  any    `json:",omitempty"`
}

func (s *Server) hnsCall(r *request) answer {
	method, path := "", ""
	if r.str[0] != nil && r.str[1] != nil {
		method, path = *r.str[0], *r.str[1]
	}
	if !strings.EqualFold(method, "GET") || !strings.EqualFold(path, "/globals/version") {
		return notModelled(fmt.Sprintf("HNSCall %s %s", method, path))
	}
	v, err := s.h.Version(s.ctx)
	if err != nil {
		return fromFake(err)
	}
	return successJSON(hnsResponse{Success: true, Output: map[string]uint32{"Major": v.Major, "Minor": v.Minor}})
}

func keep[T any](list []T, f func(*T) bool) []T {
	var out []T
	for i := range list {
		if f(&list[i]) {
			out = append(out, list[i])
		}
	}
	return out
}
