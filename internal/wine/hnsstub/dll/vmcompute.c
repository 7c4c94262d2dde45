/*
 * vmcompute.dll stand-in: HNSCall, HNS's v1 entry point, which hcn uses
 * only for the version query (GET /globals/version), forwarded to the
 * stand-in HNS server (hnsstub.c). On success the response is HNS's
 * {"Success":true,"Output":...}; HNSCall has no error record.
 */
#include "hnsstub.h"

HRESULT WINAPI HNSCall(LPCWSTR method, LPCWSTR path, LPCWSTR request, PWSTR *response)
{
	return stub_call(&(stub_call_args){.fn = "HNSCall", .str = {method, path, request}, .out = response});
}
