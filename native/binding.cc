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
constexpr uint32_t kAbiVersion = 10;

bool ThrowType(Napi::Env env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}

// Argument reading for the hot entry points (one call per socket read, flush or batch), in N-API
// directly: node-addon-api's CallbackInfo costs a heap allocation for more than six arguments,
// and its typed-array wrappers ask V8 for the same facts twice. Here each argument is one N-API
// call, which also checks its type; a wrong argument is a TypeError naming the function.
// Measured (a one-command scan, 3 rounds): node-addon-api with seven arguments ~250 ns a call,
// raw N-API with seven ~133 ns, raw with three ~59 ns (the scanner below, then
// bound per connection; it now takes a fourth, its handle, which is one pointer read).
class Args {
 public:
  static constexpr size_t kMax = 8;
  Args(napi_env env, napi_callback_info info, size_t want, const char* name) : env_(env), name_(name) {
    argc_ = kMax;
    if (napi_get_cb_info(env, info, &argc_, argv_, nullptr, &data_) != napi_ok || argc_ < want) Fail("missing arguments");
  }
  bool ok() const { return ok_; }
  void* data() const { return data_; }
  napi_value at(size_t i) const { return argv_[i]; }

  template <typename T>
  Args& Typed(size_t i, napi_typedarray_type want, T** data, size_t* len) {
    if (!ok_) return *this;
    napi_typedarray_type t;
    void* base = nullptr;
    size_t n = 0;
    if (napi_get_typedarray_info(env_, argv_[i], &t, &n, &base, nullptr, nullptr) != napi_ok || t != want) {
      Fail("typed array argument of the wrong type");
      return *this;
    }
    *data = static_cast<T*>(base);
    *len = n;
    return *this;
  }
  Args& Bytes(size_t i, uint8_t** data, size_t* len) { return Typed<uint8_t>(i, napi_uint8_array, data, len); }
  Args& Int32s(size_t i, int32_t** data, size_t* len) { return Typed<int32_t>(i, napi_int32_array, data, len); }
  Args& Float64s(size_t i, double** data, size_t* len) { return Typed<double>(i, napi_float64_array, data, len); }

  // A number within ±2^53, truncated toward zero.
  Args& Int(size_t i, int64_t* out) {
    double d = 0;
    if (!Double(i, &d).ok_) return *this;
    if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0)) {
      Fail("number argument out of range");
      return *this;
    }
    *out = static_cast<int64_t>(d);
    return *this;
  }
  Args& Double(size_t i, double* out) {
    if (ok_ && napi_get_value_double(env_, argv_[i], out) != napi_ok) Fail("expected a number argument");
    return *this;
  }

  // The pointer of External argument i.
  Args& External(size_t i, void** out) {
    if (ok_ && napi_get_value_external(env_, argv_[i], out) != napi_ok) Fail("expected a handle from bindScanner");
    return *this;
  }

  // Argument i must be a function (a completion callback).
  Args& Function(size_t i) {
    napi_valuetype t;
    if (ok_ && (napi_typeof(env_, argv_[i], &t) != napi_ok || t != napi_function)) Fail("expected a function argument");
    return *this;
  }

  // The length of array argument i.
  Args& Array(size_t i, uint32_t* len) {
    bool is_array = false;
    if (ok_ && (napi_is_array(env_, argv_[i], &is_array) != napi_ok || !is_array || napi_get_array_length(env_, argv_[i], len) != napi_ok)) {
      Fail("expected an array argument");
    }
    return *this;
  }
  // Element k of array argument i, which must be a Uint8Array.
  Args& ByteElement(size_t i, uint32_t k, uint8_t** data, size_t* len) {
    napi_value v = nullptr;
    napi_typedarray_type t;
    void* base = nullptr;
    if (ok_ && (napi_get_element(env_, argv_[i], k, &v) != napi_ok ||
                napi_get_typedarray_info(env_, v, &t, len, &base, nullptr, nullptr) != napi_ok || t != napi_uint8_array)) {
      Fail("array elements must be Uint8Arrays");
    }
    if (ok_) *data = static_cast<uint8_t*>(base);
    return *this;
  }

  // The value to return when !ok(): the TypeError is pending.
  napi_value Undefined() const { return nullptr; }
  napi_value Number(double v) const {
    napi_value r = nullptr;
    napi_create_double(env_, v, &r);
    return r;
  }
  napi_value Int32(int32_t v) const {
    napi_value r = nullptr;
    napi_create_int32(env_, v, &r);
    return r;
  }

 private:
  void Fail(const char* why) {
    if (!ok_) return;
    ok_ = false;
    std::string msg = std::string(name_) + ": " + why;
    napi_throw_type_error(env_, nullptr, msg.c_str());
  }
  napi_env env_;
  const char* name_;
  size_t argc_ = 0;
  napi_value argv_[kMax];
  void* data_ = nullptr;
  bool ok_ = true;
};

// A scanner bound to its records and state arrays and its limits, behind a handle (a JS
// External): scan(buf, handle), the one native call per socket read, reads two arguments
// instead of seven (the range is in the bound state, see ScanBound). Every connection's scanner goes through the one `scan` function,
// so V8 sees a single target at the call site and calls it directly (a function bound per
// scanner gave each call site as many targets as there were connections: measured with 8
// parsers, PUB 4 KiB in 64 KiB reads, 163-170 ns a read against 152-154 with one). The handle
// holds references to the two arrays, let go when the handle is collected, so their memory
// lives as long as the handle. The TypeScript wrapper (src/native/addon.ts NativeFrameScanner)
// binds again whenever it is handed other arrays or an array's length changed (a detached
// buffer has length 0), so the lengths here stay true.
struct BoundScanner {
  static constexpr uint64_t kMagic = 0x6e73712d7363616eull;  // "nsq-scan"
  uint64_t magic = kMagic;
  int32_t* records = nullptr;
  size_t records_len = 0;
  int32_t* state = nullptr;
  size_t state_len = 0;
  nsq::ScanLimits limits{0, 0};
  napi_ref records_ref = nullptr;
  napi_ref state_ref = nullptr;
};

void DeleteBoundScanner(napi_env env, void* data, void*) {
  auto* b = static_cast<BoundScanner*>(data);
  if (b->records_ref != nullptr) napi_delete_reference(env, b->records_ref);
  if (b->state_ref != nullptr) napi_delete_reference(env, b->state_ref);
  b->magic = 0;
  delete b;
}

// scan(buf, handle): number -- the records written, or -1. The range, buf[start, end), is in the
// bound state's kSScanStart and kSScanEnd slots, read and cleared here: two int32 loads instead
// of two number arguments, each an N-API call (measured, an empty scan 76 -> 64 ns a call, one of
// 15 PUBs of 4 KiB 122 -> 108 ns, medians of 21 rounds).
napi_value ScanBound(napi_env env, napi_callback_info info) {
  Args a(env, info, 2, "scan");
  uint8_t* buf = nullptr;
  size_t len = 0;
  void* handle = nullptr;
  if (!a.Bytes(0, &buf, &len).External(1, &handle).ok()) return a.Undefined();
  const auto* b = static_cast<const BoundScanner*>(handle);
  // Externals come only from native code; this one must be a scanner's handle.
  if (b == nullptr || b->magic != BoundScanner::kMagic) {
    napi_throw_type_error(env, nullptr, "scan: expected a handle from bindScanner");
    return nullptr;
  }
  if (b->state_len < static_cast<size_t>(nsq::kStateSlots)) return a.Int32(-1);
  const int32_t start = b->state[nsq::kSScanStart];
  const int32_t end = b->state[nsq::kSScanEnd];
  b->state[nsq::kSScanStart] = b->state[nsq::kSScanEnd] = 0;
  if (start < 0 || end < start) return a.Int32(-1);
  return a.Int32(nsq::Scan(buf, len, static_cast<size_t>(start), static_cast<size_t>(end), b->records, b->records_len, b->state,
                           b->state_len, b->limits));
}

// bindScanner(records: Int32Array, state: Int32Array, maxMsgSize, maxBodySize): handle for scan()
napi_value BindScanner(napi_env env, napi_callback_info info) {
  Args a(env, info, 4, "bindScanner");
  auto* b = new BoundScanner();
  if (!a.Int32s(0, &b->records, &b->records_len).Int32s(1, &b->state, &b->state_len).Int(2, &b->limits.max_msg_size).Int(3, &b->limits.max_body_size).ok()) {
    delete b;
    return a.Undefined();
  }
  napi_value handle = nullptr;
  if (napi_create_reference(env, a.at(0), 1, &b->records_ref) != napi_ok || napi_create_reference(env, a.at(1), 1, &b->state_ref) != napi_ok) {
    DeleteBoundScanner(env, b, nullptr);
    napi_throw_error(env, nullptr, "bindScanner: cannot hold the arrays");
    return nullptr;
  }
  if (napi_create_external(env, b, DeleteBoundScanner, nullptr, &handle) != napi_ok) {
    DeleteBoundScanner(env, b, nullptr);
    napi_throw_error(env, nullptr, "bindScanner: cannot create the handle");
    return nullptr;
  }
  return handle;
}

// gather(out, outOffset, sources: Uint8Array[], index: Int32Array, offsets: Int32Array, lengths: Int32Array, count): number
napi_value Gather(napi_env env, napi_callback_info info) {
  Args a(env, info, 7, "gather");
  uint8_t* out = nullptr;
  size_t out_len = 0, index_len = 0, offsets_len = 0, lengths_len = 0;
  int64_t out_offset = 0, count = 0;
  int32_t *index = nullptr, *offsets = nullptr, *lengths = nullptr;
  if (!a.Bytes(0, &out, &out_len).Int(1, &out_offset).Int32s(3, &index, &index_len).Int32s(4, &offsets, &offsets_len)
           .Int32s(5, &lengths, &lengths_len).Int(6, &count).ok()) {
    return a.Undefined();
  }
  if (count < 0 || static_cast<size_t>(count) > index_len || static_cast<size_t>(count) > offsets_len ||
      static_cast<size_t>(count) > lengths_len || out_offset < 0) {
    return a.Number(-1);
  }
  uint32_t n_sources = 0;
  if (!a.Array(2, &n_sources).ok()) return a.Undefined();
  // A flush draws on a few ring chunks; more sources than fit here take the heap.
  constexpr uint32_t kInline = 16;
  nsq::Span inline_sources[kInline];
  std::vector<nsq::Span> heap_sources;
  nsq::Span* sources = inline_sources;
  if (n_sources > kInline) {
    heap_sources.resize(n_sources);
    sources = heap_sources.data();
  }
  for (uint32_t i = 0; i < n_sources; i++) {
    uint8_t* data = nullptr;
    size_t len = 0;
    if (!a.ByteElement(2, i, &data, &len).ok()) return a.Undefined();
    sources[i] = nsq::Span{data, len};
  }
  int64_t r = nsq::Gather(out, out_len, static_cast<size_t>(out_offset), sources, n_sources, index, offsets, lengths,
                          static_cast<size_t>(count));
  return a.Number(static_cast<double>(r));
}

// pushRecords(dest, destPos, src, starts: Int32Array, lens: Int32Array, first, count): number
napi_value PushRecords(napi_env env, napi_callback_info info) {
  Args a(env, info, 7, "pushRecords");
  uint8_t *dest = nullptr, *src = nullptr;
  size_t dest_len = 0, src_len = 0, starts_len = 0, lens_len = 0;
  int32_t *starts = nullptr, *lens = nullptr;
  int64_t dest_pos = 0, first = 0, count = 0;
  if (!a.Bytes(0, &dest, &dest_len).Int(1, &dest_pos).Bytes(2, &src, &src_len).Int32s(3, &starts, &starts_len)
           .Int32s(4, &lens, &lens_len).Int(5, &first).Int(6, &count).ok()) {
    return a.Undefined();
  }
  if (dest_pos < 0 || first < 0 || count < 0 || static_cast<size_t>(first + count) > starts_len ||
      static_cast<size_t>(first + count) > lens_len) {
    return a.Number(-1);
  }
  return a.Number(nsq::PushRecords(dest, dest_len, static_cast<size_t>(dest_pos), src, src_len, starts, lens,
                                   static_cast<size_t>(first), static_cast<size_t>(count)));
}

// pushMessages(dest, destPos, headers, src, starts: Int32Array, lens: Int32Array, first, count): number
napi_value PushMessages(napi_env env, napi_callback_info info) {
  Args a(env, info, 8, "pushMessages");
  uint8_t *dest = nullptr, *headers = nullptr, *src = nullptr;
  size_t dest_len = 0, headers_len = 0, src_len = 0, starts_len = 0, lens_len = 0;
  int32_t *starts = nullptr, *lens = nullptr;
  int64_t dest_pos = 0, first = 0, count = 0;
  if (!a.Bytes(0, &dest, &dest_len).Int(1, &dest_pos).Bytes(2, &headers, &headers_len).Bytes(3, &src, &src_len)
           .Int32s(4, &starts, &starts_len).Int32s(5, &lens, &lens_len).Int(6, &first).Int(7, &count).ok()) {
    return a.Undefined();
  }
  if (dest_pos < 0 || first < 0 || count < 0 || static_cast<size_t>(first + count) > starts_len ||
      static_cast<size_t>(first + count) > lens_len) {
    return a.Number(-1);
  }
  return a.Number(nsq::PushMessages(dest, dest_len, static_cast<size_t>(dest_pos), headers, headers_len, src, src_len, starts,
                                    lens, static_cast<size_t>(first), static_cast<size_t>(count)));
}

// splitMpub(buf, start, len, maxMsgSize, starts: Int32Array, lens: Int32Array): number
napi_value SplitMpub(napi_env env, napi_callback_info info) {
  Args a(env, info, 6, "splitMpub");
  uint8_t* buf = nullptr;
  size_t buf_len = 0, starts_len = 0, lens_len = 0;
  int32_t *starts = nullptr, *lens = nullptr;
  int64_t start = 0, len = 0, max_msg = 0;
  if (!a.Bytes(0, &buf, &buf_len).Int(1, &start).Int(2, &len).Int(3, &max_msg).Int32s(4, &starts, &starts_len)
           .Int32s(5, &lens, &lens_len).ok()) {
    return a.Undefined();
  }
  if (start < 0 || len < 0) return a.Number(-1);
  return a.Number(static_cast<double>(nsq::SplitMpub(buf, buf_len, static_cast<size_t>(start), static_cast<size_t>(len), max_msg,
                                                     starts, starts_len, lens, lens_len)));
}

// writeHeaders(out, count, nowMs, ids: Float64Array): number
napi_value WriteHeaders(napi_env env, napi_callback_info info) {
  Args a(env, info, 4, "writeHeaders");
  uint8_t* out = nullptr;
  size_t out_len = 0, state_len = 0;
  double* state = nullptr;
  double count = 0, now_ms = 0;
  if (!a.Bytes(0, &out, &out_len).Double(1, &count).Double(2, &now_ms).Float64s(3, &state, &state_len).ok()) {
    return a.Undefined();
  }
  // A fractional or negative count is refused, as by the TypeScript twin.
  if (!(count >= 0 && count <= 9007199254740991.0) || count != static_cast<double>(static_cast<int64_t>(count))) {
    return a.Number(-1);
  }
  return a.Number(static_cast<double>(nsq::WriteHeaders(out, out_len, static_cast<size_t>(count), now_ms, state, state_len)));
}

// scanRecords(buf, readPos, writePos, max, outOffsets: Int32Array, outLens: Int32Array): number
napi_value ScanRecords(napi_env env, napi_callback_info info) {
  Args a(env, info, 6, "scanRecords");
  uint8_t* buf = nullptr;
  size_t len = 0, offs_len = 0, lens_len = 0;
  int32_t *offs = nullptr, *lens = nullptr;
  int64_t read_pos = 0, write_pos = 0, max = 0;
  if (!a.Bytes(0, &buf, &len).Int(1, &read_pos).Int(2, &write_pos).Int(3, &max).Int32s(4, &offs, &offs_len)
           .Int32s(5, &lens, &lens_len).ok()) {
    return a.Undefined();
  }
  if (read_pos < 0 || write_pos < 0 || max < 0) return a.Number(-1);
  size_t cap = static_cast<size_t>(max);
  if (cap > offs_len) cap = offs_len;
  if (cap > lens_len) cap = lens_len;
  return a.Number(nsq::ScanRecords(buf, len, static_cast<size_t>(read_pos), static_cast<size_t>(write_pos), cap, offs, lens));
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
napi_value ExecuteBatch(napi_env raw_env, napi_callback_info info) {
  Napi::Env env(raw_env);
  Args a(raw_env, info, 8, "executeBatch");
  int32_t *fds = nullptr, *offsets = nullptr, *lengths = nullptr;
  double* positions = nullptr;
  uint8_t *data = nullptr, *flags = nullptr;
  size_t fds_len = 0, pos_len = 0, data_len = 0, offsets_len = 0, lengths_len = 0, flags_len = 0;
  int64_t count = 0;
  if (!a.Int32s(0, &fds, &fds_len).Float64s(1, &positions, &pos_len).Bytes(2, &data, &data_len).Int32s(3, &offsets, &offsets_len)
           .Int32s(4, &lengths, &lengths_len).Bytes(5, &flags, &flags_len).Int(6, &count).Function(7).ok()) {
    return nullptr;
  }
  size_t n = static_cast<size_t>(count < 0 ? 0 : count);
  if (count < 0 || n > fds_len || n > pos_len || n > offsets_len || n > lengths_len || n > flags_len) {
    ThrowType(env, "executeBatch: count exceeds the arrays");
    return nullptr;
  }
  std::vector<nsq::WriteOp> ops(n);
  for (size_t i = 0; i < n; i++) {
    int32_t off = offsets[i];
    int32_t len = lengths[i];
    if (off < 0 || len < 0 || static_cast<size_t>(off) > data_len || static_cast<size_t>(len) > data_len - static_cast<size_t>(off) ||
        !(positions[i] >= 0) || fds[i] < 0) {
      ThrowType(env, "executeBatch: op out of range");
      return nullptr;
    }
    ops[i] = nsq::WriteOp{fds[i], static_cast<int64_t>(positions[i]), data + off, static_cast<size_t>(len), flags[i]};
  }
  // Keep the data buffer alive until the worker is done with it.
  Napi::Object keep = Napi::Object::New(env);
  keep.Set("data", a.at(2));
  auto* w = new BatchWorker(Napi::Function(env, a.at(7)), std::move(ops), keep);
  w->Queue();
  return nullptr;
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
napi_value Prefault(napi_env raw_env, napi_callback_info info) {
  Napi::Env env(raw_env);
  Args a(raw_env, info, 2, "prefault");
  uint32_t n = 0;
  if (!a.Array(0, &n).Function(1).ok()) return a.Undefined();
  std::vector<std::pair<uint8_t*, size_t>> spans(n);
  for (uint32_t k = 0; k < n; k++) {
    if (!a.ByteElement(0, k, &spans[k].first, &spans[k].second).ok()) return a.Undefined();
  }
  Napi::Object keep = Napi::Object::New(env);
  keep.Set("buffers", a.at(0));
  auto* w = new PrefaultWorker(Napi::Function(env, a.at(1)), std::move(spans), keep);
  w->Queue();
  return nullptr;
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
napi_value UnlockDirectory(napi_env env, napi_callback_info info) {
  int64_t fd = -1;
  if (!Args(env, info, 1, "unlockDirectory").Int(0, &fd).ok()) return nullptr;
  nsq::UnlockDirectory(static_cast<int>(fd));
  return nullptr;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
#ifdef NSQ_SOURCE_HASH
  exports.Set("sourceHash", Napi::String::New(env, NSQ_SOURCE_HASH));
#endif
  const std::pair<const char*, napi_callback> raw[] = {
      {"bindScanner", BindScanner}, {"scan", ScanBound},        {"gather", Gather},         {"pushRecords", PushRecords},   {"pushMessages", PushMessages},
      {"scanRecords", ScanRecords}, {"splitMpub", SplitMpub}, {"writeHeaders", WriteHeaders}, {"executeBatch", ExecuteBatch},
      {"prefault", Prefault},       {"unlockDirectory", UnlockDirectory},
  };
  for (const auto& [name, cb] : raw) {
    napi_value fn = nullptr;
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn) != napi_ok) return exports;
    exports.Set(name, Napi::Value(env, fn));
  }
  exports.Set("lockDirectory", Napi::Function::New(env, LockDirectory, "lockDirectory"));
  return exports;
}

}  // namespace

NODE_API_MODULE(nsq_native, Init)
