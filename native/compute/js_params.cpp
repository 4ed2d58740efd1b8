#include "js_params.hpp"

#include <algorithm>
#include <vector>

namespace wgnas::compute {

void parseParamsObject(Napi::Env env, const Napi::Object& o, Params& p, const std::string& op) {
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    Napi::Value v = o.Get(k);
    if (v.IsNumber()) p.set(k, v.As<Napi::Number>().DoubleValue());
    else if (v.IsBoolean()) p.set(k, v.As<Napi::Boolean>().Value() ? 1 : 0);
    else if (v.IsArray() || v.IsTypedArray()) {
      Napi::Object a = v.As<Napi::Object>();
      uint32_t n = a.Get("length").As<Napi::Number>().Uint32Value();
      // Grown element by element, not sized from `length` up front: a sparse array's length (up to
      // 2^32 - 1) asked for 32 GiB, and the std::bad_alloc escaping N-API aborted the process.
      std::vector<double> vals;
      for (uint32_t j = 0; j < n; j++) {
        Napi::Value e = a.Get(j);
        if (!e.IsNumber()) throw Napi::TypeError::New(env, "native op " + op + ": parameter " + k + " must hold numbers");
        vals.push_back(e.As<Napi::Number>().DoubleValue());
      }
      p.setArray(k, std::move(vals));
    } else if (!v.IsUndefined() && !v.IsNull()) {
      throw Napi::TypeError::New(env, "native op " + op + ": parameter " + k + " must be a number, boolean or number array");
    }
  }
}

void parsePackedParams(Napi::Env env, const Napi::Value& keysValue, const double* d, size_t& pos, size_t len, Params& p,
                       std::string_view op) {
  auto endsEarly = [&] { return Napi::RangeError::New(env, "enqueuePacked " + std::string(op) + ": packed values end early"); };
  // The keys into a stack buffer, not a std::string: what the JS thread allocates per op is freed
  // on the worker thread, where it never returns to the JS thread's malloc cache.
  char buf[512];
  size_t n = 0;
  std::string longKeys;
  std::string_view keys;
  if (keysValue.IsString()) {
    napi_get_value_string_utf8(env, keysValue, buf, sizeof buf, &n);
    if (n + 1 < sizeof buf) keys = std::string_view(buf, n);
    else keys = longKeys = keysValue.As<Napi::String>().Utf8Value();
  }
  p.reserve(static_cast<size_t>(std::count(keys.begin(), keys.end(), ',')));
  for (size_t b = 0; b < keys.size();) {
    size_t e = keys.find(',', b);
    if (e == std::string_view::npos) e = keys.size();
    if (pos >= len) throw endsEarly();
    if (keys[b] == '[') {
      double nd = d[pos++];
      if (!(nd >= 0 && nd <= static_cast<double>(len - pos))) throw endsEarly();
      size_t count = static_cast<size_t>(nd);
      p.setArray(std::string(keys.substr(b + 1, e - b - 1)), std::vector<double>(d + pos, d + pos + count));
      pos += count;
    } else {
      p.set(std::string(keys.substr(b, e - b)), d[pos++]);
    }
    b = e + 1;
  }
}

}  // namespace wgnas::compute
