// json_fast.cc — see json_fast.h. simdjson is used through its error codes
// only (SIMDJSON_EXCEPTIONS 0); what can still throw (std::bad_alloc from the
// scratch vectors) is caught at each extern "C" entry.
//
// Validation uses simdjson's DOM parser: On-Demand only validates the values
// it is asked for, and a record must be valid as a whole. The DOM walk adds
// what simdjson accepts but the rule (and jansson) does not: integers beyond
// int64, \u0000, duplicate keys. Reads use On-Demand, which leaves strings
// without escapes where they are: views point into the record's bytes.
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <jansson.h>

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "json_fast.h"

using namespace simdjson;

static_assert(MF_JSON_PADDING == SIMDJSON_PADDING, "MF_JSON_PADDING must be simdjson's padding");

namespace {

// Parsers keep the capacity of the largest document seen; beyond this they
// are shrunk again after use, so one huge record does not pin its memory.
constexpr size_t KEEP_CAPACITY = 1u << 20;
constexpr size_t INITIAL_CAPACITY = 64u * 1024u;
// Objects with more members than this are checked for duplicates by sorting.
constexpr size_t DUP_LINEAR_MAX = 32;

struct pending_read {
    const char *text; // a container's JSON text in the parse buffer
    size_t len;
    int32_t node;     // read this trie node's children from it
};

struct thread_state {
    dom::parser dom;
    ondemand::parser od;
    std::vector<uint8_t> copy;          // padded copy of an input without padding
    std::vector<std::string_view> keys; // duplicate check
    std::vector<pending_read> pending;
    std::vector<mf_json_member> members;
    bool ready = false;
};

thread_local std::unique_ptr<thread_state> tls_state;

thread_state &state()
{
    if (!tls_state)
        tls_state.reset(new thread_state());
    thread_state &s = *tls_state;
    if (!s.ready) {
        if (s.dom.allocate(INITIAL_CAPACITY, MF_JSON_MAX_DEPTH) != SUCCESS)
            throw std::bad_alloc();
        s.ready = true;
    }
    return s;
}

void shrink(thread_state &s)
{
    if (s.dom.capacity() > KEEP_CAPACITY && s.dom.allocate(INITIAL_CAPACITY, MF_JSON_MAX_DEPTH) != SUCCESS)
        s.ready = false;
    if (s.od.capacity() > KEEP_CAPACITY)
        s.od = ondemand::parser();
    if (s.copy.size() > KEEP_CAPACITY)
        std::vector<uint8_t>().swap(s.copy);
}

void set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- validation ------------------------------------------------------------------ */

enum rule_violation { RULE_OK, RULE_BIG_INT, RULE_NUL, RULE_DUP_KEY };

bool has_nul(std::string_view s)
{
    return std::memchr(s.data(), '\0', s.size()) != nullptr;
}

rule_violation check_keys(thread_state &s, dom::object obj)
{
    size_t base = s.keys.size();
    for (dom::key_value_pair kv : obj) {
        if (has_nul(kv.key))
            return RULE_NUL;
        s.keys.push_back(kv.key);
    }
    auto first = s.keys.begin() + (ptrdiff_t)base, last = s.keys.end();
    bool dup = false;
    if ((size_t)(last - first) <= DUP_LINEAR_MAX) {
        for (auto i = first; i != last && !dup; ++i)
            for (auto j = first; j != i; ++j)
                if (*i == *j) {
                    dup = true;
                    break;
                }
    } else {
        std::sort(first, last);
        dup = std::adjacent_find(first, last) != last;
    }
    s.keys.resize(base);
    return dup ? RULE_DUP_KEY : RULE_OK;
}

// The depth is bounded by the parser (MF_JSON_MAX_DEPTH), so is the recursion.
rule_violation walk(thread_state &s, dom::element e)
{
    switch (e.type()) {
    case dom::element_type::ARRAY: {
        dom::array arr;
        if (e.get_array().get(arr))
            return RULE_OK; // cannot happen: the type says so
        for (dom::element c : arr) {
            rule_violation v = walk(s, c);
            if (v != RULE_OK)
                return v;
        }
        return RULE_OK;
    }
    case dom::element_type::OBJECT: {
        dom::object obj;
        if (e.get_object().get(obj))
            return RULE_OK;
        rule_violation v = check_keys(s, obj);
        if (v != RULE_OK)
            return v;
        for (dom::key_value_pair kv : obj)
            if ((v = walk(s, kv.value)) != RULE_OK)
                return v;
        return RULE_OK;
    }
    case dom::element_type::UINT64:
        return RULE_BIG_INT;
    case dom::element_type::STRING: {
        std::string_view str;
        return e.get_string().get(str) == SUCCESS && has_nul(str) ? RULE_NUL : RULE_OK;
    }
    default:
        return RULE_OK;
    }
}

// Where the nesting first goes deeper than the limit.
size_t depth_position(const uint8_t *buf, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > MF_JSON_MAX_DEPTH)
                return i;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return len;
}

// jansson's "... near 'TOKEN'": the token.
std::string_view near_token(const char *text)
{
    const char *p = std::strstr(text, " near '");
    if (!p)
        return {};
    p += 7;
    size_t n = std::strlen(p);
    return n && p[n - 1] == '\'' ? std::string_view(p, n - 1) : std::string_view();
}

// The message for an invalid document. simdjson says what, not where;
// jansson (which rejects what the rule rejects, but for the depth limit)
// says where and is only run on this slow path.
void describe(const uint8_t *buf, size_t len, error_code code, rule_violation rule, char *err, size_t errlen)
{
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) {
        set_error(err, errlen, "invalid JSON at byte 0: a byte order mark (U+FEFF) starts the value");
        return;
    }
    if (code == DEPTH_ERROR) {
        set_error(err, errlen, "invalid JSON at byte %zu: nested deeper than %d arrays and objects",
                  depth_position(buf, len), MF_JSON_MAX_DEPTH);
        return;
    }
    json_error_t jerr;
    json_t *j = json_loadb(reinterpret_cast<const char *>(buf), len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        const char *text = jerr.text;
        std::string_view tok = near_token(text);
        if (std::strstr(text, "JSON_ALLOW_NUL"))
            text = "\\u0000 in a string";
        else if (std::strstr(text, "NUL byte in object key"))
            text = "\\u0000 in an object key";
        else if (std::strncmp(text, "duplicate object key", 20) == 0 && !tok.empty()) {
            set_error(err, errlen, "invalid JSON at byte %d: duplicate key %.*s", jerr.position, (int)tok.size(),
                      tok.data());
            return;
        }
        set_error(err, errlen, "invalid JSON at byte %d: %s", jerr.position, text);
        return;
    }
    json_decref(j);
    // jansson skips a raw NUL byte right after a number.
    if (const void *nul = std::memchr(buf, '\0', len)) {
        set_error(err, errlen, "invalid JSON at byte %zu: a NUL byte", (size_t)(static_cast<const uint8_t *>(nul) - buf));
        return;
    }
    // Both parsers disagree (which the fuzz target looks for): say what
    // simdjson found.
    static const char *const rules[] = {"", "an integer outside int64", "\\u0000 in a string", "a duplicate key"};
    set_error(err, errlen, "invalid JSON: %s", code ? error_message(code) : rules[rule]);
}

bool check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    thread_state &s = state();
    dom::element root;
    error_code code = s.dom.parse(buf, len).get(root);
    rule_violation rule = code ? RULE_OK : walk(s, root);
    shrink(s);
    if (code == SUCCESS && rule == RULE_OK)
        return true;
    describe(buf, len, code, rule, err, errlen);
    return false;
}

/* ---- reads -------------------------------------------------------------------------- */

// One parse: where the parser reads (`buf`, `cap` bytes readable) and the
// caller's bytes the views must point into.
struct source {
    const char *buf;
    size_t len, cap;
    const char *orig;
    size_t orig_avail; // bytes readable at orig (0: views cannot be re-read in place)
    const mf_json_arena *arena;

    const char *out(const char *p) const { return orig + (p - buf); }
    size_t avail(const char *p) const { return orig_avail ? orig_avail - (size_t)(p - buf) : 0; }
};

source make_source(thread_state &s, const char *bytes, size_t len, size_t avail, const mf_json_arena *arena)
{
    if (avail >= len + SIMDJSON_PADDING)
        return source{bytes, len, avail, bytes, avail, arena};
    if (s.copy.size() < len + SIMDJSON_PADDING)
        s.copy.resize(len + SIMDJSON_PADDING);
    std::memcpy(s.copy.data(), bytes, len);
    std::memset(s.copy.data() + len, 0, SIMDJSON_PADDING);
    const char *b = reinterpret_cast<const char *>(s.copy.data());
    return source{b, len, s.copy.size(), bytes, 0, arena};
}

// A string's text after its opening quote: its length, and whether it has
// escapes (then it must be unescaped; the length is meaningless).
bool plain_string(const char *p, const char *end, size_t *len)
{
    for (const char *q = p; q < end; q++) {
        if (*q == '"') {
            *len = (size_t)(q - p);
            return true;
        }
        if (*q == '\\')
            return false;
    }
    *len = (size_t)(end - p);
    return true;
}

const char *arena_copy(const source &src, std::string_view s)
{
    char *p = static_cast<char *>(src.arena->alloc(src.arena->ctx, s.size() + 1));
    std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
    return p;
}

void set_text(const source &src, mf_json_view *out, mf_json_type type, std::string_view text)
{
    out->type = type;
    out->str = src.out(text.data());
    out->len = text.size();
    out->engine_avail = src.avail(text.data());
}

error_code raw_token(ondemand::value &v, std::string_view *tok)
{
    *tok = v.raw_json_token();
    return SUCCESS;
}

error_code raw_token(ondemand::document &d, std::string_view *tok)
{
    return d.raw_json_token().get(*tok);
}

// simdjson 3.0.1's On-Demand misreads some numbers of more than 19
// significant digits ("0.1412345678901234567890" as 0.00103...; its DOM
// parser and jansson read 0.14123...), found by tests/fuzz/fuzz_json.c.
// Numbers that long are rare: they are read again with the DOM parser.
constexpr size_t LONG_NUMBER = 19;

size_t number_length(std::string_view tok)
{
    size_t n = 0;
    while (n < tok.size() && (std::isdigit((unsigned char)tok[n]) || std::strchr("+-.eE", tok[n])))
        n++;
    return n;
}

error_code long_double(std::string_view tok, double *out)
{
    thread_state &s = state();
    dom::element e;
    if (error_code err = s.dom.parse(tok.data(), number_length(tok)).get(e))
        return err;
    return e.get_double().get(*out);
}

// V: ondemand::value or ondemand::document (the same accessors).
template <class V> error_code read_value(const source &src, V &v, mf_json_view *out)
{
    *out = mf_json_view{};
    ondemand::json_type t;
    if (error_code e = v.type().get(t))
        return e;
    switch (t) {
    case ondemand::json_type::null:
        out->type = MF_JSON_NULL;
        return SUCCESS;
    case ondemand::json_type::boolean:
        out->type = MF_JSON_BOOL;
        return v.get_bool().get(out->boolean);
    case ondemand::json_type::number: {
        ondemand::number_type nt;
        if (error_code e = v.get_number_type().get(nt))
            return e;
        if (nt == ondemand::number_type::signed_integer) {
            out->type = MF_JSON_INT;
            error_code e = v.get_int64().get(out->integer);
            out->number = (double)out->integer;
            return e;
        }
        out->type = MF_JSON_DOUBLE;
        std::string_view tok;
        if (error_code e = raw_token(v, &tok))
            return e;
        if (number_length(tok) > LONG_NUMBER)
            return long_double(tok, &out->number);
        return v.get_double().get(out->number);
    }
    case ondemand::json_type::string: {
        std::string_view tok;
        if (error_code e = raw_token(v, &tok))
            return e;
        const char *text = tok.data() + 1;
        size_t len;
        if (plain_string(text, src.buf + src.len, &len)) {
            set_text(src, out, MF_JSON_STRING, std::string_view(text, len));
            out->engine_avail = 0;
            return SUCCESS;
        }
        std::string_view u;
        if (error_code e = v.get_string().get(u))
            return e;
        out->type = MF_JSON_STRING;
        out->str = arena_copy(src, u);
        out->len = u.size();
        return SUCCESS;
    }
    case ondemand::json_type::array: {
        ondemand::array a;
        std::string_view raw;
        if (error_code e = v.get_array().get(a))
            return e;
        if (error_code e = a.raw_json().get(raw))
            return e;
        set_text(src, out, MF_JSON_ARRAY, raw);
        return SUCCESS;
    }
    case ondemand::json_type::object: {
        ondemand::object o;
        std::string_view raw;
        if (error_code e = v.get_object().get(o))
            return e;
        if (error_code e = o.raw_json().get(raw))
            return e;
        set_text(src, out, MF_JSON_OBJECT, raw);
        return SUCCESS;
    }
    }
    return INCORRECT_TYPE;
}

// A member's key: plain (in the document) or unescaped (parser-owned until
// the next parse; copy it to keep it).
error_code field_key(const source &src, ondemand::field &f, std::string_view *key, bool *escaped)
{
    const char *k = f.key().raw();
    size_t len;
    if (plain_string(k, src.buf + src.len, &len)) {
        *key = std::string_view(k, len);
        *escaped = false;
        return SUCCESS;
    }
    *escaped = true;
    return f.unescaped_key().get(*key);
}

const mf_json_step *find_child(const mf_json_step *nodes, const mf_json_step *level, std::string_view key)
{
    for (int32_t c = level->child; c >= 0; c = nodes[c].next)
        if (nodes[c].len == key.size() && std::memcmp(nodes[c].name, key.data(), key.size()) == 0)
            return &nodes[c];
    return nullptr;
}

error_code read_object(thread_state &s, const source &src, ondemand::object obj, const mf_json_step *nodes,
                       const mf_json_step *level, mf_json_view *out)
{
    uint32_t wanted = level->n_children;
    for (auto member : obj) {
        ondemand::field f;
        if (error_code e = std::move(member).get(f))
            return e;
        std::string_view key;
        bool escaped;
        if (error_code e = field_key(src, f, &key, &escaped))
            return e;
        const mf_json_step *hit = find_child(nodes, level, key);
        if (!hit)
            continue; // skipped by the next step of the iteration
        ondemand::value v = f.value();
        if (hit->slot >= 0) {
            if (error_code e = read_value(src, v, &out[hit->slot]))
                return e;
            const mf_json_view *got = &out[hit->slot];
            // Both a path and a prefix of others: its text is read again,
            // once this parse is done.
            if (hit->child >= 0 && got->type == MF_JSON_OBJECT)
                s.pending.push_back(pending_read{src.buf + (got->str - src.orig), got->len, (int32_t)(hit - nodes)});
        } else {
            ondemand::object sub;
            if (v.get_object().get(sub) == SUCCESS)
                if (error_code e = read_object(s, src, sub, nodes, hit, out))
                    return e;
        }
        // Keys are unique (the rule): stop once everything wanted is found.
        if (--wanted == 0)
            break;
    }
    return SUCCESS;
}

bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// A document that is a scalar, read with the DOM parser: On-Demand copies a
// root number into a small buffer, together with the whitespace after it,
// and fails when that does not fit.
error_code read_root_scalar(thread_state &s, const source &src, const char *text, size_t len, mf_json_view *out)
{
    *out = mf_json_view{};
    dom::element e;
    if (error_code err = s.dom.parse(text, len).get(e))
        return err;
    switch (e.type()) {
    case dom::element_type::NULL_VALUE:
        out->type = MF_JSON_NULL;
        return SUCCESS;
    case dom::element_type::BOOL:
        out->type = MF_JSON_BOOL;
        return e.get_bool().get(out->boolean);
    case dom::element_type::INT64:
        out->type = MF_JSON_INT;
        if (error_code err = e.get_int64().get(out->integer))
            return err;
        out->number = (double)out->integer;
        return SUCCESS;
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
        out->type = MF_JSON_DOUBLE;
        return e.get_double().get(out->number);
    case dom::element_type::STRING: {
        const char *p = text;
        while (json_space(*p))
            p++;
        size_t plain;
        if (plain_string(p + 1, text + len, &plain)) {
            set_text(src, out, MF_JSON_STRING, std::string_view(p + 1, plain));
            out->engine_avail = 0;
            return SUCCESS;
        }
        std::string_view u;
        if (error_code err = e.get_string().get(u))
            return err;
        out->type = MF_JSON_STRING;
        out->str = arena_copy(src, u);
        out->len = u.size();
        return SUCCESS;
    }
    default:
        return INCORRECT_TYPE;
    }
}

error_code read_document(thread_state &s, const source &src, const char *text, size_t len, const mf_json_step *nodes,
                         const mf_json_step *level, mf_json_view *out)
{
    size_t lead = 0;
    while (lead < len && json_space(text[lead]))
        lead++;
    if (lead < len && text[lead] != '{' && text[lead] != '[')
        return level->slot >= 0 ? read_root_scalar(s, src, text, len, &out[level->slot]) : SUCCESS;
    ondemand::document doc;
    if (error_code e = s.od.iterate(text, len, src.cap - (size_t)(text - src.buf)).get(doc))
        return e;
    if (level->slot >= 0)
        if (error_code e = read_value(src, doc, &out[level->slot]))
            return e;
    if (level->child < 0)
        return SUCCESS;
    ondemand::object obj;
    if (level->slot >= 0) {
        // The root was read whole: read its members from its text again.
        const mf_json_view *root = &out[level->slot];
        if (root->type == MF_JSON_OBJECT)
            s.pending.push_back(pending_read{src.buf + (root->str - src.orig), root->len, (int32_t)(level - nodes)});
        return SUCCESS;
    }
    if (doc.get_object().get(obj) != SUCCESS)
        return SUCCESS; // not an object: every path is missing
    return read_object(s, src, obj, nodes, level, out);
}

void clear_slots(const mf_json_step *nodes, int32_t i, mf_json_view *out)
{
    for (; i >= 0; i = nodes[i].next) {
        if (nodes[i].slot >= 0)
            out[nodes[i].slot] = mf_json_view{};
        clear_slots(nodes, nodes[i].child, out);
    }
}

bool read(const mf_json_input *in, const mf_json_step *nodes, mf_json_view *out, const mf_json_arena *arena,
          char *err, size_t errlen)
{
    thread_state &s = state();
    if (nodes[0].slot >= 0)
        out[nodes[0].slot] = mf_json_view{};
    clear_slots(nodes, nodes[0].child, out);
    source src = make_source(s, reinterpret_cast<const char *>(in->bytes), in->len, in->avail, arena);
    s.pending.clear();
    error_code e = read_document(s, src, src.buf, src.len, nodes, &nodes[0], out);
    while (e == SUCCESS && !s.pending.empty()) {
        pending_read p = s.pending.back();
        s.pending.pop_back();
        const mf_json_step *level = &nodes[p.node];
        mf_json_step children = *level;
        children.slot = -1;
        e = read_document(s, src, p.text, p.len, nodes, &children, out);
    }
    shrink(s);
    if (e != SUCCESS) {
        set_error(err, errlen, "cannot read the JSON value: %s", error_message(e));
        return false;
    }
    return true;
}

template <class C> error_code collect(thread_state &s, const source &src, C &container);

template <> error_code collect(thread_state &s, const source &src, ondemand::array &a)
{
    for (auto element : a) {
        ondemand::value v;
        if (error_code e = std::move(element).get(v))
            return e;
        mf_json_member m{};
        if (error_code e = read_value(src, v, &m.value))
            return e;
        s.members.push_back(m);
    }
    return SUCCESS;
}

template <> error_code collect(thread_state &s, const source &src, ondemand::object &o)
{
    for (auto member : o) {
        ondemand::field f;
        if (error_code e = std::move(member).get(f))
            return e;
        std::string_view key;
        bool escaped;
        if (error_code e = field_key(src, f, &key, &escaped))
            return e;
        mf_json_member m{};
        m.key = escaped ? arena_copy(src, key) : src.out(key.data());
        m.key_len = key.size();
        ondemand::value v = f.value();
        if (error_code e = read_value(src, v, &m.value))
            return e;
        s.members.push_back(m);
    }
    return SUCCESS;
}

bool members(const mf_json_view *c, const mf_json_arena *arena, mf_json_member **out, size_t *n, char *err,
             size_t errlen)
{
    *out = nullptr;
    *n = 0;
    if (c->type != MF_JSON_ARRAY && c->type != MF_JSON_OBJECT) {
        set_error(err, errlen, "cannot iterate over a JSON value that is not an array or an object");
        return false;
    }
    thread_state &s = state();
    source src = make_source(s, c->str, c->len, c->engine_avail, arena);
    s.members.clear();
    ondemand::document doc;
    error_code e = s.od.iterate(src.buf, src.len, src.cap).get(doc);
    if (!e && c->type == MF_JSON_ARRAY) {
        ondemand::array a;
        if (!(e = doc.get_array().get(a)))
            e = collect(s, src, a);
    } else if (!e) {
        ondemand::object o;
        if (!(e = doc.get_object().get(o)))
            e = collect(s, src, o);
    }
    if (!e && !s.members.empty()) {
        size_t bytes = s.members.size() * sizeof(mf_json_member);
        *out = static_cast<mf_json_member *>(arena->alloc(arena->ctx, bytes));
        std::memcpy(*out, s.members.data(), bytes);
        *n = s.members.size();
    }
    s.members.clear();
    shrink(s);
    if (e) {
        set_error(err, errlen, "cannot read the JSON value: %s", error_message(e));
        return false;
    }
    return true;
}

} // namespace

/* ---- the C interface: nothing thrown gets past these ---------------------------------- */

extern "C" bool mf_json_check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    try {
        return check(buf, len, err, errlen);
    } catch (...) {
        set_error(err, errlen, "cannot validate the JSON value: out of memory");
        return false;
    }
}

extern "C" bool mf_json_read(const mf_json_input *in, const mf_json_step *nodes, mf_json_view *out,
                             const mf_json_arena *arena, char *err, size_t errlen)
{
    try {
        return read(in, nodes, out, arena, err, errlen);
    } catch (...) {
        set_error(err, errlen, "cannot read the JSON value: out of memory");
        return false;
    }
}

extern "C" bool mf_json_members(const mf_json_view *container, const mf_json_arena *arena,
                                mf_json_member **out, size_t *n, char *err, size_t errlen)
{
    try {
        return members(container, arena, out, n, err, errlen);
    } catch (...) {
        set_error(err, errlen, "cannot read the JSON value: out of memory");
        return false;
    }
}
