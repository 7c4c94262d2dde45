package fake

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hnslb/hnslb/hnsadapter/hns"
)

// Codes the fake returns beyond those hnsadapter names.
const (
	// codeFail is E_FAIL, what an injected Fault without a Code returns.
	codeFail hns.Code = 0x80004005
	// codeInvalidInternalPort is HCN_E_INVALID_INTERNAL_PORT.
	codeInvalidInternalPort hns.Code = 0x803B002D
)

// win32Text is the text Windows' FormatMessage gives for each code, which is
// what hcn prints. The HCN_E_* texts are those of Microsoft's "HCN Error
// Code" reference (computenetwork.dll); the others are winerror.h's.
var win32Text = map[hns.Code]string{
	hns.CodeInvalidParameter:  "The parameter is incorrect.",
	hns.CodeModuleNotFound:    "The specified module could not be found.",
	hns.CodeAlreadyExists:     "Cannot create a file when that file already exists.",
	hns.CodeNotFound:          "Element not found.",
	hns.CodeNotImplemented:    "Not implemented",
	hns.CodePortAlreadyExists: "The specified port already exists.",
	// HCN_E_INVALID_JSON_REFERENCE. HNS returns it for a load balancer
	// with no or unknown endpoints; the text is the documented one for the
	// code, which may differ in wording from what a given HNS build prints.
	hns.CodeInvalidReference: "The reference is invalid in the JSON document.",
	codeFail:                 "Unspecified error",
	codeInvalidInternalPort:  "The internal port must exist and cannot be zero.",
}

// codeText returns FormatMessage's text for code, or what Go's
// windows.Errno.Error prints when Windows has none.
func codeText(code hns.Code) string {
	if t, ok := win32Text[code]; ok {
		return t
	}
	return fmt.Sprintf("winapi error #%d", uint32(code))
}

// hresult returns the HRESULT HNS reports in its error record: Win32 codes
// in FACILITY_WIN32, others as they are.
func hresult(code hns.Code) uint32 {
	if code <= 0xFFFF {
		return 0x80070000 | uint32(code)
	}
	return uint32(code)
}

// errorRecord is the JSON record HNS returns beside a failed call.
type errorRecord struct {
	Success   bool   `json:"Success"`
	Error     string `json:"Error"`
	ErrorCode uint32 `json:"ErrorCode"`
}

// hcnError builds the error hcn would return for code from HNS function fn
// (e.g. "hcnCreateLoadBalancer"): Message is hcn's string,
//
//	<fn> failed in Win32: <text> (0x<code>) <record>
//
// and Record HNS's JSON record. The fake's own explanation of why it
// refused, which HNS does not give, is in Err (errors.Unwrap(err)), so the
// message stays what a real node prints.
func hcnError(op hns.Op, fn string, code hns.Code, why string) *hns.Error {
	text := codeText(code)
	rec, _ := json.Marshal(errorRecord{Success: false, Error: text + " ", ErrorCode: hresult(code)})
	e := &hns.Error{
		Op:      op,
		Code:    code,
		Message: fmt.Sprintf("%s failed in Win32: %s (0x%x) %s", fn, text, uint32(code), rec),
		Record:  string(rec),
	}
	if why != "" {
		e.Err = errors.New("fake HNS: " + why)
	}
	return e
}

// moduleNotFound is hcn's error when computenetwork.dll is missing: no
// record, since HNS never answered.
func moduleNotFound(op hns.Op, fn string) *hns.Error {
	code := hns.CodeModuleNotFound
	return &hns.Error{
		Op:      op,
		Code:    code,
		Message: fmt.Sprintf("%s failed in Win32: %s (0x%x)", fn, codeText(code), uint32(code)),
	}
}

// notFoundError is hcn's own not-found error for lookups by ID or name
// (hcn.LoadBalancerNotFoundError, hcn.NetworkNotFoundError): hcn queries
// with a filter and reports an empty result this way, with no code; the
// adapter's contract gives it code 0x490.
func notFoundError(op hns.Op, text string) *hns.Error {
	return &hns.Error{Op: op, Code: hns.CodeNotFound, Message: text}
}

// contextError reports a call abandoned because ctx ended.
func contextError(op hns.Op, err error) *hns.Error {
	return &hns.Error{Op: op, Err: err}
}
