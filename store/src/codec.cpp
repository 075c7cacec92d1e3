#include "codec.hpp"

#include <cstring>

namespace floorgate::store::detail {
namespace {

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_str(std::string& out, std::string_view s) {
  put_u64(out, s.size());
  out.append(s);
}

}  // namespace

void canonical_bytes(const Record& r, std::string& out) {
  out.push_back('\x01');  // encoding version
  put_u64(out, r.seq);
  put_u64(out, r.epoch);
  put_str(out, r.egm);
  put_u64(out, r.egm_seq);
  put_str(out, r.type);
  out.push_back(static_cast<char>(r.cls));
  put_u64(out, static_cast<std::uint64_t>(r.ts_gw_ms));
  out.push_back(r.ts_egm_ms ? '\x01' : '\x00');
  put_u64(out, static_cast<std::uint64_t>(r.ts_egm_ms.value_or(0)));
  put_str(out, r.source);
  put_str(out, r.attrs_json);
  put_str(out, r.raw_hex);
}

ChainHasher::ChainHasher() : ctx_(EVP_MD_CTX_new()) {}
ChainHasher::~ChainHasher() { EVP_MD_CTX_free(ctx_); }

Hash ChainHasher::link(const Hash& prev, const Record& r) {
  buf_.clear();
  buf_.append(reinterpret_cast<const char*>(prev.data()), prev.size());
  canonical_bytes(r, buf_);
  Hash h{};
  unsigned int n = 0;
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx_, buf_.data(), buf_.size());
  EVP_DigestFinal_ex(ctx_, h.data(), &n);
  return h;
}

void read_record(const Stmt& st, Record& r) {
  r.seq = static_cast<std::uint64_t>(st.i64(0));
  r.epoch = static_cast<std::uint64_t>(st.i64(1));
  r.egm = st.text(2);
  r.egm_seq = static_cast<std::uint64_t>(st.i64(3));
  r.type = st.text(4);
  r.cls = static_cast<EventClass>(st.i64(5));
  r.ts_gw_ms = st.i64(6);
  if (st.is_null(7)) {
    r.ts_egm_ms.reset();
  } else {
    r.ts_egm_ms = st.i64(7);
  }
  r.source = st.text(8);
  r.attrs_json = st.text(9);
  r.raw_hex = st.text(10);
  r.hash = to_hash(st.blob(11));
}

Hash to_hash(std::string_view blob) {
  Hash h{};
  if (blob.size() == h.size()) std::memcpy(h.data(), blob.data(), h.size());
  return h;
}

std::string event_table(EventClass cls) { return "event_" + std::string(to_string(cls)); }

std::string event_table_columns(EventClass cls) {
  return "seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, egm TEXT NOT NULL, egm_seq INTEGER "
         "NOT NULL, type TEXT NOT NULL, cls INTEGER NOT NULL CHECK (cls = " +
         std::to_string(static_cast<int>(cls)) +
         "), ts_gw INTEGER NOT NULL, ts_egm INTEGER, source TEXT NOT NULL, attrs TEXT NOT NULL, "
         "raw TEXT NOT NULL, hash BLOB NOT NULL";
}

}  // namespace floorgate::store::detail
