/*
 * computenetwork.dll stand-in: the 35 functions hcn (hcsshim) may call,
 * each forwarded as it is to the stand-in HNS server (hnsstub.c). The
 * server decides everything, including that the objects it does not
 * model (namespaces, SDN routes, network changes) fail with E_NOTIMPL.
 * Signatures: internal/wine/README.md.
 */
#include "hnsstub.h"

#define CALL(...) stub_call(&(stub_call_args){__VA_ARGS__})

/* The functions every HCN object type T has. */
#define HCN_OBJECT(T)                                                                          \
	HRESULT WINAPI HcnEnumerate##T##s(LPCWSTR query, PWSTR *ids, PWSTR *result)                \
	{                                                                                      \
		return CALL(.fn = "HcnEnumerate" #T "s", .str = {query}, .out = ids, .result = result); \
	}                                                                                      \
	HRESULT WINAPI HcnOpen##T(GUID *id, HANDLE *object, PWSTR *result)                         \
	{                                                                                      \
		return CALL(.fn = "HcnOpen" #T, .id = id, .handle_out = object, .result = result);  \
	}                                                                                      \
	HRESULT WINAPI HcnModify##T(HANDLE object, LPCWSTR settings, PWSTR *result)                \
	{                                                                                      \
		return CALL(.fn = "HcnModify" #T, .handle = object, .str = {settings}, .result = result); \
	}                                                                                      \
	HRESULT WINAPI HcnQuery##T##Properties(HANDLE object, LPCWSTR query, PWSTR *properties,    \
					       PWSTR *result)                                  \
	{                                                                                      \
		return CALL(.fn = "HcnQuery" #T "Properties", .handle = object, .str = {query},     \
			    .out = properties, .result = result);                              \
	}                                                                                      \
	HRESULT WINAPI HcnDelete##T(GUID *id, PWSTR *result)                                       \
	{                                                                                      \
		return CALL(.fn = "HcnDelete" #T, .id = id, .result = result);                      \
	}                                                                                      \
	HRESULT WINAPI HcnClose##T(HANDLE object)                                                  \
	{                                                                                      \
		return CALL(.fn = "HcnClose" #T, .handle = object);                                 \
	}

/* HcnCreate<T> for the types created from nothing (endpoints are created
 * on an open network: HcnCreateEndpoint below). */
#define HCN_CREATE(T)                                                                          \
	HRESULT WINAPI HcnCreate##T(GUID *id, LPCWSTR settings, HANDLE *object, PWSTR *result)     \
	{                                                                                      \
		return CALL(.fn = "HcnCreate" #T, .id = id, .str = {settings}, .handle_out = object, \
			    .result = result);                                                 \
	}

HCN_OBJECT(Network)
HCN_CREATE(Network)

HCN_OBJECT(Endpoint)
HRESULT WINAPI HcnCreateEndpoint(HANDLE network, GUID *id, LPCWSTR settings, HANDLE *endpoint, PWSTR *result)
{
	return CALL(.fn = "HcnCreateEndpoint", .handle = network, .id = id, .str = {settings},
		    .handle_out = endpoint, .result = result);
}

HCN_OBJECT(Namespace)
HCN_CREATE(Namespace)

HCN_OBJECT(LoadBalancer)
HCN_CREATE(LoadBalancer)

HCN_OBJECT(SdnRoute)
HCN_CREATE(SdnRoute)
