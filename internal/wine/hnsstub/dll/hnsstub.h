/*
 * The client half of the stand-in HNS (see ../doc.go for the protocol).
 * computenetwork.c and vmcompute.c turn each exported function into one
 * stub_call; stub_call forwards it over loopback TCP to the Go server
 * (package hnsstub) at $HNSLB_STUB_ADDR and hands its answer back the way
 * HNS does: an HRESULT, output strings allocated with CoTaskMemAlloc
 * (UTF-16), and on failure HNS's JSON error record in *result.
 */
#ifndef HNSSTUB_H
#define HNSSTUB_H

#include <windows.h>

/* One call of an exported function. Unused fields are zero/NULL. */
typedef struct {
	const char *fn;     /* the export's name, e.g. "HcnOpenLoadBalancer" */
	const GUID *id;     /* GUID argument */
	HANDLE handle;      /* handle argument */
	LPCWSTR str[3];     /* string arguments (query or settings; HNSCall's method, path, request) */
	HANDLE *handle_out; /* receives the opened or created object's handle */
	PWSTR *out;         /* receives the output string (IDs, properties, HNSCall's response) */
	PWSTR *result;      /* receives the error record on failure */
} stub_call_args;

HRESULT stub_call(const stub_call_args *a);

#endif
