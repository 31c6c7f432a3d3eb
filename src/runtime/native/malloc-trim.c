/*
 * malloc_trim(3) for Node: gives the pages glibc's malloc holds free inside its heaps back to
 * the kernel. free() returns memory only from the top of a heap; the pages of free chunks
 * below a live one stay in the process's private memory until something calls malloc_trim,
 * which nothing in Node or V8 does (docs/memory.md). One function, no state, built per
 * architecture by board/bundle/build-native.ts. Node-API, so one build runs on every Node
 * version that has Node-API 1.
 */
#include <malloc.h>
#include <node_api.h>

/* trim(): true when memory was released to the system, as malloc_trim(0) reports it. */
static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_get_boolean(env, malloc_trim(0) == 1, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
