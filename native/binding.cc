// The N-API surface: converts and checks arguments, calls the pure C++ in the other files.
// No C++ exception crosses this boundary (node-addon-api is built with exceptions off); bad
// arguments become JavaScript TypeErrors, bad input data becomes a returned error value.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "frame_encoder.h"
#include "frame_parser.h"
#include "ring_buffer.h"
#include "segment_writer.h"

namespace {

// Bump when the exported interface changes; the loader refuses an addon built for another.
constexpr uint32_t kAbiVersion = 5;

bool ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

template <typename T>
bool TypedArrayArg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, T** data, size_t* len) {
  if (info.Length() <= i || !info[i].IsTypedArray()) return ThrowType(info.Env(), "expected a typed array argument");
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) return ThrowType(info.Env(), "typed array of the wrong type");
  napi_value ab;
  void* base = nullptr;
  size_t length = 0;
  size_t byte_offset = 0;
  napi_typedarray_type t;
  if (napi_get_typedarray_info(info.Env(), ta, &t, &length, &base, &ab, &byte_offset) != napi_ok) {
    return ThrowType(info.Env(), "cannot read typed array");
  }
  *data = static_cast<T*>(base);
  *len = length;
  return true;
}

bool Uint8Arg(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  return TypedArrayArg<uint8_t>(info, i, napi_uint8_array, data, len);
}

bool NumberArg(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) return ThrowType(info.Env(), "expected a number argument");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0)) return ThrowType(info.Env(), "number out of range");
  *out = static_cast<int64_t>(d);
  return true;
}

// scan(buf, start, end, records: Int32Array, state: Int32Array, maxMsgSize, maxBodySize): number
Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* buf = nullptr;
  size_t len = 0;
  int32_t* records = nullptr;
  size_t records_len = 0;
  int32_t* state = nullptr;
  size_t state_len = 0;
  int64_t start = 0, end = 0, max_msg = 0, max_body = 0;
  if (!Uint8Arg(info, 0, &buf, &len) || !NumberArg(info, 1, &start) || !NumberArg(info, 2, &end) ||
      !TypedArrayArg<int32_t>(info, 3, napi_int32_array, &records, &records_len) ||
      !TypedArrayArg<int32_t>(info, 4, napi_int32_array, &state, &state_len) || !NumberArg(info, 5, &max_msg) ||
      !NumberArg(info, 6, &max_body)) {
    return env.Undefined();
  }
  if (start < 0 || end < start) return Napi::Number::New(env, -1);
  nsq::ScanLimits limits{max_msg, max_body};
  int32_t n = nsq::Scan(buf, len, static_cast<size_t>(start), static_cast<size_t>(end), records, records_len, state, state_len, limits);
  return Napi::Number::New(env, n);
}

// gather(out, outOffset, sources: Uint8Array[], index: Int32Array, offsets: Int32Array, lengths: Int32Array, count): number
Napi::Value Gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* out = nullptr;
  size_t out_len = 0;
  int64_t out_offset = 0, count = 0;
  int32_t *index = nullptr, *offsets = nullptr, *lengths = nullptr;
  size_t index_len = 0, offsets_len = 0, lengths_len = 0;
  if (!Uint8Arg(info, 0, &out, &out_len) || !NumberArg(info, 1, &out_offset) ||
      info.Length() < 3 || !info[2].IsArray() ||
      !TypedArrayArg<int32_t>(info, 3, napi_int32_array, &index, &index_len) ||
      !TypedArrayArg<int32_t>(info, 4, napi_int32_array, &offsets, &offsets_len) ||
      !TypedArrayArg<int32_t>(info, 5, napi_int32_array, &lengths, &lengths_len) || !NumberArg(info, 6, &count)) {
    if (!env.IsExceptionPending()) ThrowType(env, "gather: bad arguments");
    return env.Undefined();
  }
  if (count < 0 || static_cast<size_t>(count) > index_len || static_cast<size_t>(count) > offsets_len ||
      static_cast<size_t>(count) > lengths_len || out_offset < 0) {
    return Napi::Number::New(env, -1);
  }
  Napi::Array arr = info[2].As<Napi::Array>();
  uint32_t n_sources = arr.Length();
  std::vector<nsq::Span> sources(n_sources);
  for (uint32_t i = 0; i < n_sources; i++) {
    Napi::Value v = arr.Get(i);
    if (env.IsExceptionPending()) return env.Undefined();
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      ThrowType(env, "gather: sources must be Uint8Arrays");
      return env.Undefined();
    }
    Napi::Uint8Array u = v.As<Napi::Uint8Array>();
    sources[i] = nsq::Span{u.Data(), u.ByteLength()};
  }
  int64_t r = nsq::Gather(out, out_len, static_cast<size_t>(out_offset), sources.data(), sources.size(), index, offsets,
                          lengths, static_cast<size_t>(count));
  return Napi::Number::New(env, static_cast<double>(r));
}

// pushRecords(dest, destPos, src, starts: Int32Array, lens: Int32Array, first, count): number
Napi::Value PushRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *dest = nullptr, *src = nullptr;
  size_t dest_len = 0, src_len = 0, starts_len = 0, lens_len = 0;
  int32_t *starts = nullptr, *lens = nullptr;
  int64_t dest_pos = 0, first = 0, count = 0;
  if (!Uint8Arg(info, 0, &dest, &dest_len) || !NumberArg(info, 1, &dest_pos) || !Uint8Arg(info, 2, &src, &src_len) ||
      !TypedArrayArg<int32_t>(info, 3, napi_int32_array, &starts, &starts_len) ||
      !TypedArrayArg<int32_t>(info, 4, napi_int32_array, &lens, &lens_len) || !NumberArg(info, 5, &first) ||
      !NumberArg(info, 6, &count)) {
    return env.Undefined();
  }
  if (dest_pos < 0 || first < 0 || count < 0 || static_cast<size_t>(first + count) > starts_len ||
      static_cast<size_t>(first + count) > lens_len) {
    return Napi::Number::New(env, -1);
  }
  int32_t r = nsq::PushRecords(dest, dest_len, static_cast<size_t>(dest_pos), src, src_len, starts, lens,
                               static_cast<size_t>(first), static_cast<size_t>(count));
  return Napi::Number::New(env, r);
}

// pushMessages(dest, destPos, headers, src, starts: Int32Array, lens: Int32Array, first, count): number
Napi::Value PushMessages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *dest = nullptr, *headers = nullptr, *src = nullptr;
  size_t dest_len = 0, headers_len = 0, src_len = 0, starts_len = 0, lens_len = 0;
  int32_t *starts = nullptr, *lens = nullptr;
  int64_t dest_pos = 0, first = 0, count = 0;
  if (!Uint8Arg(info, 0, &dest, &dest_len) || !NumberArg(info, 1, &dest_pos) || !Uint8Arg(info, 2, &headers, &headers_len) ||
      !Uint8Arg(info, 3, &src, &src_len) || !TypedArrayArg<int32_t>(info, 4, napi_int32_array, &starts, &starts_len) ||
      !TypedArrayArg<int32_t>(info, 5, napi_int32_array, &lens, &lens_len) || !NumberArg(info, 6, &first) ||
      !NumberArg(info, 7, &count)) {
    return env.Undefined();
  }
  if (dest_pos < 0 || first < 0 || count < 0 || static_cast<size_t>(first + count) > starts_len ||
      static_cast<size_t>(first + count) > lens_len) {
    return Napi::Number::New(env, -1);
  }
  int32_t r = nsq::PushMessages(dest, dest_len, static_cast<size_t>(dest_pos), headers, headers_len, src, src_len, starts, lens,
                                static_cast<size_t>(first), static_cast<size_t>(count));
  return Napi::Number::New(env, r);
}

// splitMpub(buf, start, len, maxMsgSize, starts: Int32Array, lens: Int32Array): number
Napi::Value SplitMpub(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* buf = nullptr;
  size_t buf_len = 0, starts_len = 0, lens_len = 0;
  int32_t *starts = nullptr, *lens = nullptr;
  int64_t start = 0, len = 0, max_msg = 0;
  if (!Uint8Arg(info, 0, &buf, &buf_len) || !NumberArg(info, 1, &start) || !NumberArg(info, 2, &len) ||
      !NumberArg(info, 3, &max_msg) || !TypedArrayArg<int32_t>(info, 4, napi_int32_array, &starts, &starts_len) ||
      !TypedArrayArg<int32_t>(info, 5, napi_int32_array, &lens, &lens_len)) {
    return env.Undefined();
  }
  if (start < 0 || len < 0) return Napi::Number::New(env, -1);
  int64_t r = nsq::SplitMpub(buf, buf_len, static_cast<size_t>(start), static_cast<size_t>(len), max_msg, starts, starts_len,
                             lens, lens_len);
  return Napi::Number::New(env, static_cast<double>(r));
}

// writeHeaders(out, count, nowMs, ids: Float64Array): number
Napi::Value WriteHeaders(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* out = nullptr;
  size_t out_len = 0, state_len = 0;
  double* state = nullptr;
  if (!Uint8Arg(info, 0, &out, &out_len) || info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber() ||
      !TypedArrayArg<double>(info, 3, napi_float64_array, &state, &state_len)) {
    if (!env.IsExceptionPending()) ThrowType(env, "writeHeaders: bad arguments");
    return env.Undefined();
  }
  const double count = info[1].As<Napi::Number>().DoubleValue();
  const double now_ms = info[2].As<Napi::Number>().DoubleValue();
  // A fractional or negative count is refused, as by the TypeScript twin.
  if (!(count >= 0 && count <= 9007199254740991.0) || count != static_cast<double>(static_cast<int64_t>(count))) {
    return Napi::Number::New(env, -1);
  }
  int64_t r = nsq::WriteHeaders(out, out_len, static_cast<size_t>(count), now_ms, state, state_len);
  return Napi::Number::New(env, static_cast<double>(r));
}

// scanRecords(buf, readPos, writePos, max, outOffsets: Int32Array, outLens: Int32Array): number
Napi::Value ScanRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* buf = nullptr;
  size_t len = 0, offs_len = 0, lens_len = 0;
  int32_t *offs = nullptr, *lens = nullptr;
  int64_t read_pos = 0, write_pos = 0, max = 0;
  if (!Uint8Arg(info, 0, &buf, &len) || !NumberArg(info, 1, &read_pos) || !NumberArg(info, 2, &write_pos) ||
      !NumberArg(info, 3, &max) || !TypedArrayArg<int32_t>(info, 4, napi_int32_array, &offs, &offs_len) ||
      !TypedArrayArg<int32_t>(info, 5, napi_int32_array, &lens, &lens_len)) {
    return env.Undefined();
  }
  if (read_pos < 0 || write_pos < 0 || max < 0) return Napi::Number::New(env, -1);
  size_t cap = static_cast<size_t>(max);
  if (cap > offs_len) cap = offs_len;
  if (cap > lens_len) cap = lens_len;
  int32_t r = nsq::ScanRecords(buf, len, static_cast<size_t>(read_pos), static_cast<size_t>(write_pos), cap, offs, lens);
  return Napi::Number::New(env, r);
}

// Runs one write batch on a libuv worker thread; the JS callback gets (errno, doneCount).
class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Function cb, std::vector<nsq::WriteOp> ops, Napi::Object keep_alive)
      : Napi::AsyncWorker(cb), ops_(std::move(ops)), keep_(Napi::Persistent(keep_alive)) {}

  void Execute() override { err_ = nsq::ExecuteBatch(ops_.data(), ops_.size(), &done_); }

  void OnOK() override {
    Napi::Env env = Env();
    Callback().Call({Napi::Number::New(env, err_), Napi::Number::New(env, static_cast<double>(done_))});
  }

 private:
  std::vector<nsq::WriteOp> ops_;
  Napi::ObjectReference keep_;
  int err_ = 0;
  size_t done_ = 0;
};

// executeBatch(fds: Int32Array, positions: Float64Array, data: Uint8Array, offsets: Int32Array,
//              lengths: Int32Array, flags: Uint8Array, count, callback(errno, done)): void
Napi::Value ExecuteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t *fds = nullptr, *offsets = nullptr, *lengths = nullptr;
  double* positions = nullptr;
  uint8_t *data = nullptr, *flags = nullptr;
  size_t fds_len = 0, pos_len = 0, data_len = 0, offsets_len = 0, lengths_len = 0, flags_len = 0;
  int64_t count = 0;
  if (!TypedArrayArg<int32_t>(info, 0, napi_int32_array, &fds, &fds_len) ||
      !TypedArrayArg<double>(info, 1, napi_float64_array, &positions, &pos_len) || !Uint8Arg(info, 2, &data, &data_len) ||
      !TypedArrayArg<int32_t>(info, 3, napi_int32_array, &offsets, &offsets_len) ||
      !TypedArrayArg<int32_t>(info, 4, napi_int32_array, &lengths, &lengths_len) ||
      !Uint8Arg(info, 5, &flags, &flags_len) || !NumberArg(info, 6, &count)) {
    return env.Undefined();
  }
  if (info.Length() < 8 || !info[7].IsFunction()) {
    ThrowType(env, "executeBatch: callback required");
    return env.Undefined();
  }
  size_t n = static_cast<size_t>(count < 0 ? 0 : count);
  if (count < 0 || n > fds_len || n > pos_len || n > offsets_len || n > lengths_len || n > flags_len) {
    ThrowType(env, "executeBatch: count exceeds the arrays");
    return env.Undefined();
  }
  std::vector<nsq::WriteOp> ops(n);
  for (size_t i = 0; i < n; i++) {
    int32_t off = offsets[i];
    int32_t len = lengths[i];
    if (off < 0 || len < 0 || static_cast<size_t>(off) > data_len || static_cast<size_t>(len) > data_len - static_cast<size_t>(off) ||
        !(positions[i] >= 0) || fds[i] < 0) {
      ThrowType(env, "executeBatch: op out of range");
      return env.Undefined();
    }
    ops[i] = nsq::WriteOp{fds[i], static_cast<int64_t>(positions[i]), data + off, static_cast<size_t>(len), flags[i]};
  }
  // Keep the data buffer alive until the worker is done with it.
  Napi::Object keep = Napi::Object::New(env);
  keep.Set("data", info[2]);
  auto* w = new BatchWorker(info[7].As<Napi::Function>(), std::move(ops), keep);
  w->Queue();
  return env.Undefined();
}

// Touches the pages of some buffers on a worker thread; keeps them alive until it is done.
class PrefaultWorker : public Napi::AsyncWorker {
 public:
  PrefaultWorker(Napi::Function cb, std::vector<std::pair<uint8_t*, size_t>> spans, Napi::Object keep_alive)
      : Napi::AsyncWorker(cb), spans_(std::move(spans)), keep_(Napi::Persistent(keep_alive)) {}

  void Execute() override {
    for (const auto& s : spans_) nsq::TouchPages(s.first, s.second);
  }

  void OnOK() override { Callback().Call({}); }

 private:
  std::vector<std::pair<uint8_t*, size_t>> spans_;
  Napi::ObjectReference keep_;
};

// prefault(buffers: Uint8Array[], callback()): void -- the buffers must not be used until callback.
Napi::Value Prefault(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsFunction()) {
    ThrowType(env, "prefault: (buffers: Uint8Array[], callback) expected");
    return env.Undefined();
  }
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::pair<uint8_t*, size_t>> spans;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      ThrowType(env, "prefault: every buffer must be a Uint8Array");
      return env.Undefined();
    }
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    spans.emplace_back(a.Data(), a.ByteLength());
  }
  Napi::Object keep = Napi::Object::New(env);
  keep.Set("buffers", list);
  auto* w = new PrefaultWorker(info[1].As<Napi::Function>(), std::move(spans), keep);
  w->Queue();
  return env.Undefined();
}

// lockDirectory(path): fd (>= 0) or -errno
Napi::Value LockDirectory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(env, "lockDirectory: path required");
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(env, nsq::LockDirectory(path.c_str()));
}

// unlockDirectory(fd): void
Napi::Value UnlockDirectory(const Napi::CallbackInfo& info) {
  int64_t fd = -1;
  if (!NumberArg(info, 0, &fd)) return info.Env().Undefined();
  nsq::UnlockDirectory(static_cast<int>(fd));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
#ifdef NSQ_SOURCE_HASH
  exports.Set("sourceHash", Napi::String::New(env, NSQ_SOURCE_HASH));
#endif
  exports.Set("scan", Napi::Function::New(env, Scan, "scan"));
  exports.Set("gather", Napi::Function::New(env, Gather, "gather"));
  exports.Set("pushRecords", Napi::Function::New(env, PushRecords, "pushRecords"));
  exports.Set("pushMessages", Napi::Function::New(env, PushMessages, "pushMessages"));
  exports.Set("scanRecords", Napi::Function::New(env, ScanRecords, "scanRecords"));
  exports.Set("splitMpub", Napi::Function::New(env, SplitMpub, "splitMpub"));
  exports.Set("writeHeaders", Napi::Function::New(env, WriteHeaders, "writeHeaders"));
  exports.Set("executeBatch", Napi::Function::New(env, ExecuteBatch, "executeBatch"));
  exports.Set("prefault", Napi::Function::New(env, Prefault, "prefault"));
  exports.Set("lockDirectory", Napi::Function::New(env, LockDirectory, "lockDirectory"));
  exports.Set("unlockDirectory", Napi::Function::New(env, UnlockDirectory, "unlockDirectory"));
  return exports;
}

}  // namespace

NODE_API_MODULE(nsq_native, Init)
