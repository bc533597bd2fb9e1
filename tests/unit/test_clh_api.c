/* hypervisor/clh_api: request bodies, response validation, and the client
 * against the in-process fake Cloud Hypervisor (tests/support/fake_clh),
 * including hostile replies. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hypervisor/clh_api.h"
#include "lib/err.h"
#include "tests/harness/harness.h"
#include "tests/support/fake_clh/fake_clh.h"

static int parse(const char *s, struct clh_http_response *r, struct err *e)
{
    return clh_http_parse_response(s, strlen(s), r, e);
}

TEST(http_parses_a_json_reply)
{
    const char *s = "HTTP/1.1 200 OK\r\nServer: Cloud Hypervisor API\r\nContent-Type: "
                    "application/json\r\nContent-Length: 2\r\n\r\n{}";
    struct clh_http_response r;
    struct err e = ERR_INIT;
    ASSERT_EQ(parse(s, &r, &e), (int)strlen(s));
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.reason, "OK");
    ASSERT_TRUE(r.json);
    ASSERT_EQ(r.body_len, 2);
    ASSERT_MEMEQ(r.body, "{}", 2);
    return 0;
}

TEST(http_needs_more_bytes)
{
    struct clh_http_response r;
    ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", &r, NULL), -EAGAIN);
    ASSERT_EQ(parse("HTTP/1.1 204 No Con", &r, NULL), -EAGAIN);
    return 0;
}

TEST(http_rejects_malformed_heads)
{
    static const char *const bad[] = {
        "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 999 What\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct clh_http_response r;
        struct err e = ERR_INIT;
        int rc = parse(bad[i], &r, &e);
        if (rc != -EPROTO && rc != -EMSGSIZE) {
            fprintf(stderr, "case %zu: %d\n", i, rc);
            return 1;
        }
        ASSERT_TRUE(e.msg[0] != '\0');
    }
    return 0;
}

TEST(http_bounds_the_head)
{
    size_t n = CLH_HTTP_HEAD_MAX + 100;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    memcpy(s, "HTTP/1.1 200 OK\r\nX: ", 20);
    s[n] = '\0';
    struct clh_http_response r;
    struct err e = ERR_INIT;
    ASSERT_EQ(clh_http_parse_response(s, n, &r, &e), -EMSGSIZE);
    free(s);
    return 0;
}

TEST(http_head_checks_body_length)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n";
    struct clh_http_response r;
    struct err e = ERR_INIT;
    ASSERT_EQ(clh_http_parse_head(head, strlen(head), "{}", 2, &r, &e), -EPROTO);
    err_clear(&e);
    ASSERT_OK(clh_http_parse_head(head, strlen(head), "{ }\n", 4, &r, &e));
    return 0;
}

static struct clh_http_response reply(int status, bool json, const char *body)
{
    return (struct clh_http_response){.status = status,
                                      .json = json,
                                      .has_content_length = true,
                                      .content_length = body ? strlen(body) : 0,
                                      .body = body,
                                      .body_len = body ? strlen(body) : 0};
}

TEST(check_response_per_endpoint)
{
    struct clh_http_response r;
    r = reply(200, true, "{\"version\":\"v1\"}");
    ASSERT_OK(clh_api_check_response(CLH_VMM_PING, &r, NULL));
    r = reply(204, true, NULL);
    ASSERT_EQ(clh_api_check_response(CLH_VMM_PING, &r, NULL), -EPROTO);
    ASSERT_OK(clh_api_check_response(CLH_VM_BOOT, &r, NULL));
    ASSERT_OK(clh_api_check_response(CLH_VM_ADD_DISK, &r, NULL)); /* cold plug */
    r = reply(200, true, NULL);
    ASSERT_OK(clh_api_check_response(CLH_VMM_SHUTDOWN, &r, NULL)); /* CLH's code says 200 */
    ASSERT_EQ(clh_api_check_response(CLH_VM_BOOT, &r, NULL), -EPROTO);
    ASSERT_EQ(clh_api_check_response(CLH_VM_INFO, &r, NULL), -EPROTO); /* no body */
    r = reply(200, false, "{}");
    ASSERT_EQ(clh_api_check_response(CLH_VM_INFO, &r, NULL), -EPROTO); /* not JSON */
    r = reply(302, true, NULL);
    ASSERT_EQ(clh_api_check_response(CLH_VM_INFO, &r, NULL), -EPROTO);
    return 0;
}

TEST(check_response_maps_errors_and_quotes_safely)
{
    struct clh_http_response r = reply(500, true, "[\"Error from API\",\"boom\\u001b[31m\"]");
    struct err e = ERR_INIT;
    ASSERT_EQ(clh_api_check_response(CLH_VM_PAUSE, &r, &e), -EIO);
    ASSERT_TRUE(strstr(e.msg, "vm.pause: HTTP 500") != NULL);
    ASSERT_TRUE(strstr(e.msg, "Error from API: boom?[31m") != NULL);
    ASSERT_TRUE(strchr(e.msg, '\x1b') == NULL);
    static const struct {
        int status, code;
    } map[] = {{400, -EINVAL}, {404, -ENOENT}, {405, -EBUSY}, {409, -EEXIST}, {503, -EPROTO}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        r = reply(map[i].status, false, "plain text");
        ASSERT_EQ(clh_api_check_response(CLH_VM_BOOT, &r, NULL), map[i].code);
    }
    return 0;
}

TEST(parse_ping_info_pci)
{
    char v[32];
    enum clh_vm_state s;
    struct clh_pci_info p;
    const char *ping = "{\"build_version\":\"x\",\"version\":\"v51.1\",\"pid\":3,\"features\":[]}";
    ASSERT_OK(clh_api_parse_ping(ping, strlen(ping), v, sizeof(v), NULL));
    ASSERT_STREQ(v, "v51.1");
    static const char *const bad_pings[] = {"{\"version\":5}", "[]", "{}", "{\"version\":\"\"}",
                                            "{\"version\":\"a\\u0000b\"}",
                                            "{\"version\":\"1\",\"features\":[1]}",
                                            "{\"version\":\"1\"} x", "{\"version\":"};
    for (size_t i = 0; i < sizeof(bad_pings) / sizeof(bad_pings[0]); i++)
        ASSERT_EQ(clh_api_parse_ping(bad_pings[i], strlen(bad_pings[i]), v, sizeof(v), NULL),
                  -EPROTO);
    const char *info = "{\"config\":{},\"state\":\"Paused\"}";
    ASSERT_OK(clh_api_parse_info(info, strlen(info), &s, NULL));
    ASSERT_EQ(s, CLH_STATE_PAUSED);
    const char *bad_info = "{\"config\":{},\"state\":\"Dancing\"}";
    ASSERT_EQ(clh_api_parse_info(bad_info, strlen(bad_info), &s, NULL), -EPROTO);
    const char *no_config = "{\"state\":\"Running\"}";
    ASSERT_EQ(clh_api_parse_info(no_config, strlen(no_config), &s, NULL), -EPROTO);
    const char *pci = "{\"id\":\"disk0\",\"bdf\":\"0000:00:06.0\"}";
    ASSERT_OK(clh_api_parse_pci_info(pci, strlen(pci), &p, NULL));
    ASSERT_STREQ(p.id, "disk0");
    ASSERT_STREQ(p.bdf, "0000:00:06.0");
    return 0;
}

TEST(bdf_to_pci_path)
{
    char path[8];
    ASSERT_OK(clh_api_bdf_to_pci_path("0000:00:1f.0", path, sizeof(path), NULL));
    ASSERT_STREQ(path, "1f");
    static const char *const bad[] = {"0001:00:05.0", "0000:01:05.0", "0000:00:05.1",
                                      "0000:00:20.0", "0000:00:5.0",  "zz",
                                      "0000:00:05.0 ", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ASSERT_EQ(clh_api_bdf_to_pci_path(bad[i], path, sizeof(path), NULL), -EPROTO);
    return 0;
}

static json_object *at(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b && !json_object_object_get_ex(v, b, &v))
        return NULL;
    return v;
}

TEST(build_vm_config)
{
    struct clh_vm_config c = {.boot_vcpus = 2,
                              .max_vcpus = 4,
                              .memory_bytes = 512u << 20,
                              .memory_shared = true,
                              .kernel = "/k",
                              .initramfs = "/i",
                              .cmdline = "console=ttyS0",
                              .vsock_cid = 3,
                              .vsock_socket = "/s/clh.sock",
                              .fs_tag = "kataShared",
                              .fs_socket = "/s/fs.sock",
                              .serial_file = "/s/console.log",
                              .rng_src = "/dev/urandom"};
    char *json = NULL;
    ASSERT_OK(clh_api_build_vm_config(&c, &json, NULL));
    json_object *o = json_tokener_parse(json);
    ASSERT_TRUE(o != NULL);
    ASSERT_EQ(json_object_get_int64(at(o, "cpus", "boot_vcpus")), 2);
    ASSERT_EQ(json_object_get_int64(at(o, "cpus", "max_vcpus")), 4);
    ASSERT_EQ(json_object_get_int64(at(o, "memory", "size")), 512 << 20);
    ASSERT_TRUE(json_object_get_boolean(at(o, "memory", "shared")));
    ASSERT_STREQ(json_object_get_string(at(o, "payload", "kernel")), "/k");
    ASSERT_STREQ(json_object_get_string(at(o, "payload", "initramfs")), "/i");
    ASSERT_EQ(json_object_get_int64(at(o, "vsock", "cid")), 3);
    ASSERT_STREQ(json_object_get_string(at(o, "vsock", "socket")), "/s/clh.sock");
    json_object *fs = json_object_array_get_idx(at(o, "fs", NULL), 0);
    ASSERT_STREQ(json_object_get_string(at(fs, "tag", NULL)), "kataShared");
    ASSERT_EQ(json_object_get_int64(at(fs, "queue_size", NULL)), 1024);
    ASSERT_STREQ(json_object_get_string(at(o, "serial", "mode")), "File");
    ASSERT_STREQ(json_object_get_string(at(o, "console", "mode")), "Off");
    ASSERT_TRUE(at(o, "disks", NULL) == NULL);
    json_object_put(o);
    free(json);

    c.max_vcpus = 1;
    ASSERT_EQ(clh_api_build_vm_config(&c, &json, NULL), -EINVAL);
    c.max_vcpus = 4;
    c.vsock_cid = 2;
    ASSERT_EQ(clh_api_build_vm_config(&c, &json, NULL), -EINVAL);
    c.vsock_cid = 3;
    c.kernel = NULL;
    ASSERT_EQ(clh_api_build_vm_config(&c, &json, NULL), -EINVAL);
    return 0;
}

TEST(build_device_bodies)
{
    char *json = NULL;
    struct clh_net n = {.id = "net0", .mac = "02:00:00:00:00:01", .mtu = 1500, .num_queues = 2};
    ASSERT_OK(clh_api_build_net(&n, &json, NULL));
    ASSERT_STREQ(json, "{\"id\":\"net0\",\"mac\":\"02:00:00:00:00:01\",\"mtu\":1500,\"num_queues\":2}");
    free(json);
    n.num_queues = 3;
    ASSERT_EQ(clh_api_build_net(&n, &json, NULL), -EINVAL);
    struct clh_disk d = {.id = "d\"0", .path = "/x/y", .readonly = true};
    ASSERT_OK(clh_api_build_disk(&d, &json, NULL));
    ASSERT_STREQ(json, "{\"path\":\"/x/y\",\"readonly\":true,\"id\":\"d\\\"0\"}");
    free(json);
    ASSERT_EQ(clh_api_build_remove_device("", &json, NULL), -EINVAL);
    return 0;
}

/* ---- against the fake ---- */

struct env {
    char sock[256];
    struct fake_clh *fake;
    struct clh_api *api;
};

static int env_start(struct env *v, const char *fault)
{
    static unsigned n;
    snprintf(v->sock, sizeof(v->sock), "%s/api-%u.sock", test_tmpdir(), n++);
    struct fake_clh_opts o = {.api_socket = v->sock, .api_fd = -1, .fault = fault};
    int r = fake_clh_start(&o, &v->fake);
    if (r < 0)
        return r;
    r = clh_api_new(v->sock, &v->api, NULL);
    clh_api_set_timeout(v->api, 2000);
    return r;
}

static void env_stop(struct env *v)
{
    v->api = clh_api_free(v->api);
    v->fake = fake_clh_stop(v->fake);
}

TEST(client_lifecycle_against_fake)
{
    struct env v;
    struct err e = ERR_INIT;
    char version[64];
    enum clh_vm_state s;
    ASSERT_OK(env_start(&v, NULL));
    ASSERT_OK(clh_api_ping(v.api, version, sizeof(version), &e));
    ASSERT_STREQ(version, "v51.1.0-fake");
    ASSERT_EQ(clh_api_vm_info(v.api, &s, &e), -ENOENT); /* not created */
    err_clear(&e);
    ASSERT_EQ(clh_api_action(v.api, CLH_VM_BOOT, &e), -ENOENT);
    err_clear(&e);

    struct clh_vm_config c = {.boot_vcpus = 1, .max_vcpus = 1, .memory_bytes = 1u << 28,
                              .kernel = "/proc/self/exe", .cmdline = "quiet"};
    ASSERT_OK(clh_api_vm_create(v.api, &c, &e));
    ASSERT_OK(clh_api_vm_info(v.api, &s, &e));
    ASSERT_EQ(s, CLH_STATE_CREATED);
    ASSERT_EQ(clh_api_action(v.api, CLH_VM_PAUSE, &e), -EIO); /* VmNotRunning: 500 */
    err_clear(&e);
    ASSERT_OK(clh_api_action(v.api, CLH_VM_BOOT, &e));
    ASSERT_EQ(clh_api_action(v.api, CLH_VM_BOOT, &e), -EIO); /* already booted */
    err_clear(&e);
    ASSERT_OK(clh_api_action(v.api, CLH_VM_PAUSE, &e));
    ASSERT_OK(clh_api_vm_info(v.api, &s, &e));
    ASSERT_EQ(s, CLH_STATE_PAUSED);
    ASSERT_EQ(clh_api_action(v.api, CLH_VM_PAUSE, &e), -EIO);
    err_clear(&e);
    ASSERT_OK(clh_api_action(v.api, CLH_VM_RESUME, &e));
    ASSERT_EQ(clh_api_action(v.api, CLH_VM_RESUME, &e), -EIO);
    err_clear(&e);

    struct clh_pci_info p;
    struct clh_disk d = {.id = "disk0", .path = "/proc/self/exe", .readonly = true};
    ASSERT_OK(clh_api_vm_add_disk(v.api, &d, &p, &e));
    ASSERT_TRUE(!p.cold);
    ASSERT_STREQ(p.id, "disk0");
    ASSERT_EQ(clh_api_vm_add_disk(v.api, &d, &p, &e), -EEXIST);
    err_clear(&e);
    int sp[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
    struct clh_net n = {.id = "net0", .mac = "02:00:00:00:00:01", .num_queues = 2};
    ASSERT_OK(clh_api_vm_add_net(v.api, &n, sp, 1, &p, &e));
    ASSERT_STREQ(p.id, "net0");
    ASSERT_EQ(fake_clh_violations(v.fake), 0);
    n.id = "net1"; /* 2 fds for 2 queues: CLH refuses it, and so does the fake */
    ASSERT_EQ(clh_api_vm_add_net(v.api, &n, sp, 2, &p, &e), -EINVAL);
    err_clear(&e);
    close(sp[0]);
    close(sp[1]);
    struct clh_fs fs = {.id = "fs1", .tag = "t", .socket = "/nonexistent"};
    ASSERT_OK(clh_api_vm_add_fs(v.api, &fs, &p, &e));
    ASSERT_OK(clh_api_vm_remove_device(v.api, "disk0", &e));
    ASSERT_EQ(clh_api_vm_remove_device(v.api, "disk0", &e), -ENOENT);
    err_clear(&e);
    ASSERT_OK(clh_api_action(v.api, CLH_VM_SHUTDOWN, &e));
    ASSERT_OK(clh_api_vm_info(v.api, &s, &e));
    ASSERT_EQ(s, CLH_STATE_CREATED); /* CLH keeps the config after vm.shutdown */
    ASSERT_EQ(clh_api_action(v.api, CLH_VM_SHUTDOWN, &e), -EIO);
    err_clear(&e);
    ASSERT_OK(clh_api_action(v.api, CLH_VMM_SHUTDOWN, &e));
    ASSERT_EQ(fake_clh_violations(v.fake), 1); /* the deliberate add-net above */
    env_stop(&v);
    return 0;
}

TEST(client_rejects_hostile_replies)
{
    static const struct {
        const char *fault;
        int code;
        const char *msg;
    } cases[] = {
        {"vmm.ping:bad-status", -EPROTO, NULL},
        {"vmm.ping:bad-json", -EPROTO, "invalid JSON"},
        {"vmm.ping:wrong-shape", -EPROTO, "not a string"},
        {"vmm.ping:huge-body", -EMSGSIZE, "over"},
        {"vmm.ping:huge-head", -EMSGSIZE, "head"},
        {"vmm.ping:length-mismatch", -EPROTO, NULL},
        {"vmm.ping:no-content-type", -EPROTO, "application/json"},
        {"vmm.ping:chunked", -EPROTO, "Transfer-Encoding"},
        {"vmm.ping:error-500", -EIO, "boom?[31m?injected"},
        {"vmm.ping:not-found", -ENOENT, "Not Found"},
        {"vmm.ping:close", -ECONNRESET, NULL},
        {"vmm.ping:hang", -ETIMEDOUT, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct env v;
        struct err e = ERR_INIT;
        char version[64];
        ASSERT_OK(env_start(&v, cases[i].fault));
        clh_api_set_timeout(v.api, 300);
        int r = clh_api_ping(v.api, version, sizeof(version), &e);
        if (r != cases[i].code || (cases[i].msg && !strstr(e.msg, cases[i].msg))) {
            fprintf(stderr, "%s: got %d \"%s\"\n", cases[i].fault, r, e.msg);
            env_stop(&v);
            return 1;
        }
        env_stop(&v);
    }
    return 0;
}

TEST(client_rejects_hostile_info_and_pci)
{
    struct env v;
    struct err e = ERR_INIT;
    enum clh_vm_state s;
    struct clh_pci_info p;
    ASSERT_OK(env_start(&v, "vm.info:wrong-shape"));
    ASSERT_EQ(clh_api_vm_info(v.api, &s, &e), -EPROTO);
    ASSERT_TRUE(strstr(e.msg, "unknown state \"Dancing\"") != NULL);
    env_stop(&v);

    err_clear(&e);
    ASSERT_OK(env_start(&v, "vm.add-net:wrong-shape"));
    int sp[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
    struct clh_net n = {.id = "net0", .num_queues = 2};
    ASSERT_EQ(clh_api_vm_add_net(v.api, &n, sp, 1, &p, &e), -EPROTO);
    ASSERT_TRUE(strstr(e.msg, "PCI address") != NULL);
    env_stop(&v);

    err_clear(&e);
    ASSERT_OK(env_start(&v, "vm.add-net:huge-body"));
    ASSERT_EQ(clh_api_vm_add_net(v.api, &n, sp, 1, &p, &e), -EMSGSIZE);
    env_stop(&v);

    err_clear(&e);
    ASSERT_OK(env_start(&v, "vm.boot:body-on-204"));
    ASSERT_EQ(clh_api_action(v.api, CLH_VM_BOOT, &e), -EPROTO);
    env_stop(&v);
    close(sp[0]);
    close(sp[1]);
    return 0;
}
