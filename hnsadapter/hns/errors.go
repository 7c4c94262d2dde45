package hns

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the error code HNS returned: the Win32 code for Win32-facility
// HRESULTs (as hcn reports them), else the HRESULT itself.
type Code uint32

// The codes the adapter tells apart.
const (
	CodeInvalidParameter  Code = 0x57       // ERROR_INVALID_PARAMETER, e.g. > 64 non-DSR backends on WS2019
	CodeModuleNotFound    Code = 0x7E       // ERROR_MOD_NOT_FOUND: no HNS on this machine
	CodeAlreadyExists     Code = 0xB7       // ERROR_ALREADY_EXISTS: the frontend is taken
	CodeNotFound          Code = 0x490      // ERROR_NOT_FOUND (hcn's IsNotFoundError misses it)
	CodeNotImplemented    Code = 0x80004001 // E_NOTIMPL: e.g. update on an old HNS
	CodePortAlreadyExists Code = 0x803B0013 // HCN_E_PORT_ALREADY_EXISTS: VIP:port reserved on the host
	CodeInvalidReference  Code = 0x803B001C // an LB without endpoints, or with an unknown endpoint
)

// Error is an HNS call that failed.
type Error struct {
	// Op is the Client method that failed.
	Op Op
	// Code is HNS's code; 0 when the failure did not come from HNS.
	Code Code
	// Message is HNS's text (hcn's error string).
	Message string
	// Record is HNS's error record (JSON), if it gave one.
	Record string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	// hcn's messages already carry the code, as "(0x57)": say it once.
	if e.Code != 0 && !strings.Contains(strings.ToLower(msg), fmt.Sprintf("(0x%x)", uint32(e.Code))) {
		return fmt.Sprintf("hns %s: %s (0x%X)", e.Op, msg, uint32(e.Code))
	}
	return fmt.Sprintf("hns %s: %s", e.Op, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the HNS code of err, or 0.
func CodeOf(err error) Code {
	switch e := err.(type) {
	case nil:
		return 0
	case *Error: // the usual case, without errors.As's allocation
		return e.Code
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsNotFound reports an object that does not exist (0x490).
func IsNotFound(err error) bool { return CodeOf(err) == CodeNotFound }

// IsAlreadyExists reports a frontend that another load balancer holds (0xB7).
func IsAlreadyExists(err error) bool { return CodeOf(err) == CodeAlreadyExists }

// IsPortAlreadyExists reports a VIP:port reserved on the host (0x803B0013).
func IsPortAlreadyExists(err error) bool { return CodeOf(err) == CodePortAlreadyExists }

// IsNotImplemented reports an operation this HNS lacks (0x80004001).
func IsNotImplemented(err error) bool { return CodeOf(err) == CodeNotImplemented }

// IsInvalidReference reports a load balancer naming no or unknown endpoints
// (0x803B001C).
func IsInvalidReference(err error) bool { return CodeOf(err) == CodeInvalidReference }

// IsInvalidParameter reports a request HNS found malformed (0x57).
func IsInvalidParameter(err error) bool { return CodeOf(err) == CodeInvalidParameter }

// IsHNSUnavailable reports that this machine has no HNS (0x7E), e.g. Wine,
// or a Windows without the Containers feature, or a non-Windows OS.
func IsHNSUnavailable(err error) bool { return CodeOf(err) == CodeModuleNotFound }
