// gunzip of a whole buffer by libdeflate, for the parse threads' whole path (workers/inflate.ts).
//
// Why an addon of our own: no maintained npm package binds libdeflate (or zlib-ng) for decompression, and
// libdeflate inflates the corpus's files 1.27-1.41x as fast as Node's zlib into the same buffer
// (bench/inflate.bench.ts). It is this one function over Debian's libdeflate (libdeflate-dev), built against
// Node-API only, so one build serves every Node major; where it is not built, workers/inflate.ts uses zlib.
//
// gunzip(input, output) -> the bytes written into output, every gzip member one after another, and a zero
// byte after a member ending the input, as Node's zlib does; -1 when the input is not gzip or is corrupt or
// truncated (bad header, bad data, CRC or ISIZE mismatch: libdeflate checks both); -2 when output is too
// small. The caller keeps both buffers; nothing here holds on to them past the call.
#include <libdeflate.h>
#include <node_api.h>
#include <stddef.h>

static int bytes_of(napi_env env, napi_value value, unsigned char **data, size_t *length) {
  napi_typedarray_type type;
  size_t count;
  void *base;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &count, &base, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (unsigned char *)base;
  *length = count;
  return 1;
}

static napi_value gunzip(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value result;
  struct libdeflate_decompressor *d;
  unsigned char *in, *out;
  size_t in_len, out_len, in_at = 0, out_at = 0;
  double written = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      !bytes_of(env, argv[0], &in, &in_len) || !bytes_of(env, argv[1], &out, &out_len)) {
    napi_throw_type_error(env, NULL, "gunzip(input: Uint8Array, output: Uint8Array)");
    return NULL;
  }
  // One decompressor per call (a malloc of about 10 KB next to the milliseconds an object takes): nothing
  // outlives the call, so nothing is left for a worker's teardown to free.
  d = libdeflate_alloc_decompressor();
  if (d == NULL) {
    napi_throw_error(env, NULL, "libdeflate_alloc_decompressor failed");
    return NULL;
  }
  if (in_len > 0) {
    for (;;) {
      size_t in_used = 0, out_used = 0;
      enum libdeflate_result r = libdeflate_gzip_decompress_ex(d, in + in_at, in_len - in_at, out + out_at,
                                                               out_len - out_at, &in_used, &out_used);
      if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
        written = -2;
        break;
      }
      if (r != LIBDEFLATE_SUCCESS) break;
      in_at += in_used;
      out_at += out_used;
      // As Node's zlib: after a member, a zero byte ends the input (padding); anything else is a member.
      if (in_at >= in_len || in[in_at] == 0) {
        written = (double)out_at;
        break;
      }
    }
  }
  libdeflate_free_decompressor(d);
  napi_create_double(env, written, &result);
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn, version;
  if (napi_create_function(env, "gunzip", NAPI_AUTO_LENGTH, gunzip, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "gunzip", fn) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, LIBDEFLATE_VERSION_STRING, NAPI_AUTO_LENGTH, &version) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "version", version) != napi_ok) return NULL;
  return exports;
}
