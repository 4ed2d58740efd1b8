// Op parameters from JS into Params, on the JS thread: a plain object (enqueue) or the packed form
// of enqueuePacked (values in a Float64Array, named by a key string). Malformed input throws a
// JS TypeError / RangeError naming the op and the parameter.
#pragma once
#include <napi.h>

#include <string>
#include <string_view>

#include "params.hpp"

namespace wgnas::compute {

// Every property of `o`: numbers, booleans (1 / 0) and arrays of numbers; undefined / null skipped.
void parseParamsObject(Napi::Env env, const Napi::Object& o, Params& p, const std::string& op);

// The values d[pos, len) in the order of `keys` ("k1,k2,[k3,": a key starting with '[' is an array,
// stored as its length followed by its elements); advances pos past them.
void parsePackedParams(Napi::Env env, const Napi::Value& keys, const double* d, size_t& pos, size_t len, Params& p,
                       std::string_view op);

}  // namespace wgnas::compute
