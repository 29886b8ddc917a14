/* tests/s3/test_s3_encode.c — the pieces of the S3 client that need no
 * server (engine/src/s3_internal.h): key and query encoding as SigV4 wants
 * it, the canonical query string libcurl 7.88.1 signs as given, and the XML
 * reading of S3's answers. Links the engine statically (internals). */
#include <stdlib.h>
#include <string.h>

#include "s3_internal.h"

#include "../unit/cunit_main.h"

static char *enc(const char *s, bool keep_slash)
{
    mf_str out = {0};
    mf_s3_uri_encode(&out, s, strlen(s), keep_slash);
    return mf_str_take(&out);
}

static void test_key_encoding(void)
{
    char *e = enc("dir/with space+plus%pct=eq/é✓~._-", true);
    CU_ASSERT_STRING_EQUAL(e, "dir/with%20space%2Bplus%25pct%3Deq/%C3%A9%E2%9C%93~._-");
    free(e);
    e = enc("a/b", false); /* query values: '/' encoded too */
    CU_ASSERT_STRING_EQUAL(e, "a%2Fb");
    free(e);
    e = enc("AZaz09", true);
    CU_ASSERT_STRING_EQUAL(e, "AZaz09");
    free(e);
    e = enc("?#&;,:@$!'()*[]", true); /* reserved characters: all encoded, uppercase hex */
    CU_ASSERT_STRING_EQUAL(e, "%3F%23%26%3B%2C%3A%40%24%21%27%28%29%2A%5B%5D");
    free(e);
    e = enc("", true);
    CU_ASSERT_STRING_EQUAL(e, "");
    free(e);
    char bytes[] = {(char)0x00, (char)0x7f, (char)0xff, '\0'};
    mf_str out = {0};
    mf_s3_uri_encode(&out, bytes, 3, true);
    CU_ASSERT_STRING_EQUAL(out.data, "%00%7F%FF");
    mf_str_free(&out);
}

static void test_canonical_query(void)
{
    /* ListObjectsV2 with a continuation token: sorted, everything encoded */
    struct mf_s3_param list[] = {
        {"list-type", "2"}, {"prefix", "a b/c"}, {"continuation-token", "1/2+3=="}, {"max-keys", "1000"}};
    char *q = mf_s3_canonical_query(list, 4);
    CU_ASSERT_STRING_EQUAL(q, "continuation-token=1%2F2%2B3%3D%3D&list-type=2&max-keys=1000&prefix=a%20b%2Fc");
    free(q);
    /* ?uploads is signed as "uploads=" by S3 */
    struct mf_s3_param up[] = {{"uploads", ""}};
    q = mf_s3_canonical_query(up, 1);
    CU_ASSERT_STRING_EQUAL(q, "uploads=");
    free(q);
    struct mf_s3_param up2[] = {{"uploads", NULL}, {"prefix", "x"}};
    q = mf_s3_canonical_query(up2, 2);
    CU_ASSERT_STRING_EQUAL(q, "prefix=x&uploads=");
    free(q);
    /* UploadPart: partNumber before uploadId */
    struct mf_s3_param part[] = {{"uploadId", "id/+="}, {"partNumber", "10"}};
    q = mf_s3_canonical_query(part, 2);
    CU_ASSERT_STRING_EQUAL(q, "partNumber=10&uploadId=id%2F%2B%3D");
    free(q);
    /* byte order of the encoded names: uppercase before lowercase, then by value */
    struct mf_s3_param order[] = {{"b", "2"}, {"a", "z"}, {"B", "1"}, {"a", "y"}, {"a-b", "0"}};
    q = mf_s3_canonical_query(order, 5);
    CU_ASSERT_STRING_EQUAL(q, "B=1&a=y&a=z&a-b=0&b=2");
    free(q);
    q = mf_s3_canonical_query(NULL, 0);
    CU_ASSERT_STRING_EQUAL(q, "");
    free(q);
}

static void test_xml_text(void)
{
    const char *x = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
                    "<Message>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233; &#x2713; &bogus; &amp</Message>"
                    "<Empty/><Blank></Blank><RequestId>r</RequestId></Error>";
    char *t = mf_s3_xml_text(x, strlen(x), "Code");
    CU_ASSERT_STRING_EQUAL(t, "SignatureDoesNotMatch");
    free(t);
    t = mf_s3_xml_text(x, strlen(x), "Message");
    CU_ASSERT_STRING_EQUAL(t, "a & b <c> \"d\" 'e' é ✓ &bogus; &amp");
    free(t);
    t = mf_s3_xml_text(x, strlen(x), "Empty");
    CU_ASSERT_STRING_EQUAL(t, "");
    free(t);
    t = mf_s3_xml_text(x, strlen(x), "Blank");
    CU_ASSERT_STRING_EQUAL(t, "");
    free(t);
    CU_ASSERT_PTR_NULL(mf_s3_xml_text(x, strlen(x), "Missing"));
    /* a name that only starts like the tag is not the tag */
    CU_ASSERT_PTR_NULL(mf_s3_xml_text(x, strlen(x), "Req"));
    /* the length bounds the search */
    CU_ASSERT_PTR_NULL(mf_s3_xml_text(x, 30, "Message"));
}

static void test_xml_listing(void)
{
    const char *x = "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    "<Name>b</Name><IsTruncated>true</IsTruncated>"
                    "<Contents><Key>a &amp; b</Key><Size>3</Size><ETag>&quot;e1&quot;</ETag></Contents>"
                    "<Contents>\n<Key>k2</Key><Size>0</Size></Contents>"
                    "<NextContinuationToken>tok+/=</NextContinuationToken></ListBucketResult>";
    const char *p = x, *end = x + strlen(x), *inner;
    size_t n;
    CU_ASSERT_TRUE_FATAL(mf_s3_xml_next(&p, end, "Contents", &inner, &n));
    char *k = mf_s3_xml_text(inner, n, "Key");
    CU_ASSERT_STRING_EQUAL(k, "a & b");
    free(k);
    k = mf_s3_xml_text(inner, n, "ETag");
    CU_ASSERT_STRING_EQUAL(k, "\"e1\"");
    free(k);
    CU_ASSERT_TRUE_FATAL(mf_s3_xml_next(&p, end, "Contents", &inner, &n));
    k = mf_s3_xml_text(inner, n, "Key");
    CU_ASSERT_STRING_EQUAL(k, "k2");
    free(k);
    CU_ASSERT_PTR_NULL(mf_s3_xml_text(inner, n, "ETag"));
    CU_ASSERT_FALSE(mf_s3_xml_next(&p, end, "Contents", &inner, &n));
    k = mf_s3_xml_text(x, strlen(x), "NextContinuationToken");
    CU_ASSERT_STRING_EQUAL(k, "tok+/=");
    free(k);
    /* the root element with attributes is found too */
    p = x;
    CU_ASSERT_TRUE(mf_s3_xml_next(&p, end, "ListBucketResult", &inner, &n));
    /* an unterminated element is not found */
    const char *bad = "<Contents><Key>x</Key>";
    p = bad;
    CU_ASSERT_FALSE(mf_s3_xml_next(&p, bad + strlen(bad), "Contents", &inner, &n));
}

static void test_xml_escape(void)
{
    mf_str out = {0};
    mf_s3_xml_escape(&out, "\"etag\" & <x> 'y'");
    CU_ASSERT_STRING_EQUAL(out.data, "&quot;etag&quot; &amp; &lt;x&gt; &apos;y&apos;");
    char *back = mf_s3_xml_text("<E>", 3, "E");
    CU_ASSERT_PTR_NULL(back);
    mf_str doc = {0};
    mf_str_printf(&doc, "<E>%s</E>", out.data);
    back = mf_s3_xml_text(doc.data, doc.len, "E");
    CU_ASSERT_STRING_EQUAL(back, "\"etag\" & <x> 'y'");
    free(back);
    mf_str_free(&doc);
    mf_str_free(&out);
}

int main(void)
{
    static const mf_test tests[] = {
        {"key encoding (RFC 3986, '/' kept)", test_key_encoding},
        {"canonical query strings", test_canonical_query},
        {"XML text and entities", test_xml_text},
        {"XML listing elements", test_xml_listing},
        {"XML escaping round trip", test_xml_escape},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"s3 encode", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
