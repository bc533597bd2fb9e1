/* The Cloud Hypervisor driver (hypervisor/clh.c) end to end against the fake
 * binary $(O)/tests/support/fake-cloud-hypervisor, spawned exactly as the
 * real one would be. The fake records its argv and every API request
 * (FAKE_CLH_RECORD), checks each against CLH's documented API and counts
 * violations; hybrid vsock port 1024 leads to an echo server here. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "lib/transport.h"
#include "tests/harness/harness.h"

/* snprintf that aborts on truncation (test paths are short). */
#define FMT(buf, ...)                                                                              \
    ((void)(snprintf((buf), sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf) ? (abort(), 0) : 0))

static char fake_bin[PATH_MAX];

struct fixture {
    char dir[PATH_MAX], state[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX], shared[PATH_MAX];
    char vfsd[PATH_MAX], record[PATH_MAX], echo[PATH_MAX];
    struct hv_config cfg;
};

static int write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(text, f);
    fclose(f);
    return chmod(path, mode) < 0 ? -errno : 0;
}

/* A fresh fixture per test: dummy kernel and initrd, a shared folder, a
 * stand-in virtiofsd that keeps the vhost-user socket (fd 3) open. */
static int fixture_init(struct fixture *fx, const char *name)
{
    memset(fx, 0, sizeof(*fx));
    if (!fake_bin[0]) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n < 0)
            return -errno;
        self[n] = '\0';
        FMT(fake_bin, "%s/../support/fake-cloud-hypervisor", dirname(self));
    }
    if (access(fake_bin, X_OK) < 0)
        return -ENOENT;
    FMT(fx->dir, "%s/%s", test_tmpdir(), name);
    mkdir(fx->dir, 0700);
    FMT(fx->state, "%s/run", fx->dir);
    FMT(fx->kernel, "%s/vmlinuz", fx->dir);
    FMT(fx->initrd, "%s/initrd.img", fx->dir);
    FMT(fx->shared, "%s/shared", fx->dir);
    FMT(fx->vfsd, "%s/virtiofsd", fx->dir);
    FMT(fx->record, "%s/record.jsonl", fx->dir);
    FMT(fx->echo, "%s/echo.sock", fx->dir);
    mkdir(fx->state, 0700);
    mkdir(fx->shared, 0700);
    char script[PATH_MAX + 64];
    FMT(script, "#!/bin/sh\necho \"$@\" > %s/virtiofsd.args\nexec sleep 600\n",
             fx->dir);
    int r;
    if ((r = write_file(fx->kernel, "kernel", 0644)) < 0 ||
        (r = write_file(fx->initrd, "initrd", 0644)) < 0 ||
        (r = write_file(fx->vfsd, script, 0755)) < 0)
        return r;
    fx->cfg = (struct hv_config){
        .kind = HV_KIND_CLH,
        .path = fake_bin,
        .kernel = fx->kernel,
        .initrd = fx->initrd,
        .kernel_params = "agent.hotplug_timeout=5",
        .debug_console = true,
        .container_pipe_size = 131072,
        .vcpus = 2,
        .max_vcpus = 4,
        .memory_mib = 512,
        .transport = HV_TRANSPORT_HYBRID_VSOCK,
        .shared_fs = HV_SHARED_FS_VIRTIO_FS,
        .shared_dir = fx->shared,
        .virtiofsd_path = fx->vfsd,
        .virtiofsd_cache = "never",
        .entropy_source = "/dev/random",
    };
    unlink(fx->record);
    setenv("FAKE_CLH_RECORD", fx->record, 1);
    unsetenv("FAKE_CLH_FAULT");
    unsetenv("FAKE_CLH_EXIT_AT_START");
    char targets[PATH_MAX + 8];
    FMT(targets, "1024=%s", fx->echo);
    setenv("FAKE_CLH_VSOCK", targets, 1);
    return 0;
}

/* The recorded requests, one JSON object per line, in order. */
static json_object *load_record(const char *path)
{
    json_object *all = json_object_new_array();
    FILE *f = fopen(path, "r");
    char line[65536];
    while (f && fgets(line, sizeof(line), f))
        json_object_array_add(all, json_tokener_parse(line));
    if (f)
        fclose(f);
    return all;
}

static json_object *find_request(json_object *all, const char *path, size_t nth)
{
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        json_object *o = json_object_array_get_idx(all, i), *p;
        if (json_object_object_get_ex(o, "path", &p) && strcmp(json_object_get_string(p), path) == 0 &&
            nth-- == 0)
            return o;
    }
    return NULL;
}

static size_t count(json_object *all, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(all); i++)
        n += json_object_object_get_ex(json_object_array_get_idx(all, i), key, NULL);
    return n;
}

static json_object *get(json_object *o, const char *path)
{
    char buf[256];
    FMT(buf, "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save)) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(k));
        else if (!json_object_object_get_ex(o, k, &o))
            return NULL;
    }
    return o;
}

static const char *gets_(json_object *o, const char *path)
{
    json_object *v = get(o, path);
    return v ? json_object_get_string(v) : "(missing)";
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- an echo server standing in for the agent behind hybrid vsock ---- */

struct echo {
    int lfd;
    pthread_t thread;
};

static void *echo_main(void *arg)
{
    struct echo *s = arg;
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
    char buf[4096];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int echo_start(struct echo *s, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    FMT(sa.sun_path, "%s", path);
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->lfd, 4) < 0)
        return -errno;
    return -pthread_create(&s->thread, NULL, echo_main, s);
}

static void echo_stop(struct echo *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static bool pid_gone(int pid)
{
    return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

TEST(boot_dial_pause_hotplug_stop)
{
    struct fixture fx;
    struct err e = ERR_INIT;
    struct hv_vm *vm = NULL;
    struct echo echo;
    int r = fixture_init(&fx, "full");
    if (r == -ENOENT)
        return test_skip("fake-cloud-hypervisor not built");
    ASSERT_OK(r);
    ASSERT_OK(echo_start(&echo, fx.echo));
    ASSERT_OK(hv_vm_new(&fx.cfg, fx.state, "sb1", &vm, &e));
    ASSERT_EQ(hv_vm_pidfd(vm), -1);
    r = hv_vm_start(vm, 10ull * 1000000000u, &e);
    if (r < 0)
        fprintf(stderr, "start: %s\n", e.msg);
    ASSERT_OK(r);
    int pid = hv_vm_pid(vm);
    ASSERT_GT(pid, 0);
    ASSERT_GE(hv_vm_pidfd(vm), 0);

    char addr[256], want[256];
    ASSERT_OK(hv_vm_agent_address(vm, addr, sizeof(addr)));
    FMT(want, "hvsock://%s/sb1/clh.sock:1024", fx.state);
    ASSERT_STREQ(addr, want);

    /* A real hybrid-vsock dial through lib/transport, then bytes both ways. */
    int fd = transport_dial(addr, 5ull * 1000000000u, &e);
    if (fd < 0)
        fprintf(stderr, "dial: %s\n", e.msg);
    ASSERT_OK(fd);
    ASSERT_EQ(write(fd, "ping", 4), 4);
    char buf[8] = "";
    for (int i = 0; i < 200 && read(fd, buf, sizeof(buf)) < 0 && errno == EAGAIN; i++)
        usleep(10000);
    ASSERT_MEMEQ(buf, "ping", 4);
    close(fd);

    ASSERT_OK(hv_vm_pause(vm, &e));
    ASSERT_OK(hv_vm_resume(vm, &e));

    struct hv_device disk = {.kind = HV_DEVICE_BLOCK, .id = "drive-1", .path = fx.kernel,
                             .readonly = true};
    ASSERT_OK(hv_vm_hotplug_add(vm, &disk, &e));
    ASSERT_TRUE(strlen(disk.guest_pci_path) == 2);
    int sp[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
    struct hv_device net = {.kind = HV_DEVICE_NET_TAP, .id = "eth0", .tap_fds = sp,
                            .n_tap_fds = 1, .mac = "02:00:ca:fe:00:01", .mtu = 1500};
    ASSERT_OK(hv_vm_hotplug_add(vm, &net, &e));
    ASSERT_TRUE(strcmp(net.guest_pci_path, disk.guest_pci_path) != 0);
    close(sp[0]);
    close(sp[1]);
    ASSERT_OK(hv_vm_hotplug_remove(vm, "drive-1", 1000000000u, &e));
    ASSERT_EQ(hv_vm_hotplug_remove(vm, "drive-1", 1000000000u, &e), -ENOENT);
    err_clear(&e);

    ASSERT_OK(hv_vm_stop(vm, 5ull * 1000000000u, &e));
    ASSERT_EQ(hv_vm_pidfd(vm), -1);
    ASSERT_TRUE(pid_gone(pid)); /* exited and reaped */
    char sock[PATH_MAX];
    FMT(sock, "%s/sb1/clh-api.sock", fx.state);
    ASSERT_TRUE(access(sock, F_OK) < 0);
    FMT(sock, "%s/sb1/clh.sock", fx.state);
    ASSERT_TRUE(access(sock, F_OK) < 0);
    vm = hv_vm_free(vm);
    echo_stop(&echo);

    /* What the driver sent, as the fake saw it. */
    json_object *rec = load_record(fx.record);
    ASSERT_EQ(count(rec, "violation"), 0);
    json_object *argv = get(json_object_array_get_idx(rec, 0), "argv");
    ASSERT_TRUE(argv != NULL);
    ASSERT_STREQ(gets_(argv, "1"), "--api-socket");
    FMT(want, "path=%s/sb1/clh-api.sock", fx.state);
    ASSERT_STREQ(gets_(argv, "2"), want);
    json_object *create = find_request(rec, "vm.create", 0);
    ASSERT_TRUE(create != NULL);
    ASSERT_EQ(json_object_get_int(get(create, "body.cpus.boot_vcpus")), 2);
    ASSERT_EQ(json_object_get_int(get(create, "body.cpus.max_vcpus")), 4);
    ASSERT_EQ(json_object_get_int64(get(create, "body.memory.size")), 512ll << 20);
    ASSERT_TRUE(json_object_get_boolean(get(create, "body.memory.shared")));
    ASSERT_STREQ(gets_(create, "body.payload.kernel"), fx.kernel);
    ASSERT_STREQ(gets_(create, "body.payload.initramfs"), fx.initrd);
    ASSERT_TRUE(strstr(gets_(create, "body.payload.cmdline"), "console=ttyS0") != NULL);
    /* debug_console_enabled and container_pipe_size, then the user's kernel_params. */
    ASSERT_TRUE(strstr(gets_(create, "body.payload.cmdline"),
                       " agent.debug_console agent.debug_console_vport=1026 "
                       "agent.container_pipe_size=131072 agent.hotplug_timeout=5") != NULL);
    ASSERT_EQ(json_object_get_int(get(create, "body.vsock.cid")), 3);
    FMT(want, "%s/sb1/clh.sock", fx.state);
    ASSERT_STREQ(gets_(create, "body.vsock.socket"), want);
    ASSERT_STREQ(gets_(create, "body.fs.0.tag"), "kataShared");
    FMT(want, "%s/sb1/virtiofsd.sock", fx.state);
    ASSERT_STREQ(gets_(create, "body.fs.0.socket"), want);
    ASSERT_STREQ(gets_(create, "body.serial.mode"), "File");
    ASSERT_STREQ(gets_(create, "body.rng.src"), "/dev/random"); /* entropy_source */
    FMT(want, "%s/sb1/console.log", fx.state);
    ASSERT_STREQ(gets_(create, "body.serial.file"), want);
    /* The order Kata uses: ping, create, info, boot, info; stop: vm then vmm. */
    static const char *const order[] = {"vm.create", "vm.info",     "vm.boot",    "vm.info",
                                        "vm.pause",  "vm.resume",   "vm.add-disk", "vm.add-net",
                                        "vm.remove-device", "vm.remove-device", "vm.shutdown",
                                        "vmm.shutdown"};
    size_t k = 0;
    for (size_t i = 0; i < json_object_array_length(rec) && k < sizeof(order) / sizeof(order[0]); i++) {
        const char *p = gets_(json_object_array_get_idx(rec, i), "path");
        if (strcmp(p, order[k]) == 0)
            k++;
    }
    ASSERT_EQ(k, sizeof(order) / sizeof(order[0]));
    json_object *add_net = find_request(rec, "vm.add-net", 0);
    ASSERT_EQ(json_object_get_int(get(add_net, "fds")), 1);
    ASSERT_EQ(json_object_get_int(get(add_net, "body.num_queues")), 2);
    ASSERT_STREQ(gets_(add_net, "body.mac"), "02:00:ca:fe:00:01");
    json_object_put(rec);

    /* virtiofsd got the vhost-user socket as fd 3 and the shared folder. */
    char args_path[PATH_MAX], args[1024] = "";
    FMT(args_path, "%s/virtiofsd.args", fx.dir);
    FILE *f = fopen(args_path, "r");
    ASSERT_TRUE(f != NULL);
    ASSERT_TRUE(fgets(args, sizeof(args), f) != NULL);
    fclose(f);
    ASSERT_TRUE(strstr(args, "--fd=3") != NULL);
    ASSERT_TRUE(strstr(args, fx.shared) != NULL);
    ASSERT_TRUE(strstr(args, "cache=never") != NULL);
    return 0;
}

TEST(vmm_dying_during_boot_is_reported_at_once)
{
    struct fixture fx;
    struct err e = ERR_INIT;
    struct hv_vm *vm = NULL;
    int r = fixture_init(&fx, "die");
    if (r == -ENOENT)
        return test_skip("fake-cloud-hypervisor not built");
    ASSERT_OK(r);
    setenv("FAKE_CLH_FAULT", "vm.boot:die", 1);
    ASSERT_OK(hv_vm_new(&fx.cfg, fx.state, "sb2", &vm, &e));
    uint64_t t0 = now_ms();
    r = hv_vm_start(vm, 30ull * 1000000000u, &e);
    ASSERT_EQ(r, -ECHILD);
    ASSERT_LT(now_ms() - t0, 5000);
    ASSERT_TRUE(strstr(e.msg, "exited with status 3 during vm.boot") != NULL);
    ASSERT_EQ(hv_vm_pidfd(vm), -1);
    vm = hv_vm_free(vm);

    /* One that never gets as far as its API socket. */
    err_clear(&e);
    unsetenv("FAKE_CLH_FAULT");
    setenv("FAKE_CLH_EXIT_AT_START", "7", 1);
    ASSERT_OK(hv_vm_new(&fx.cfg, fx.state, "sb3", &vm, &e));
    t0 = now_ms();
    ASSERT_EQ(hv_vm_start(vm, 30ull * 1000000000u, &e), -ECHILD);
    ASSERT_LT(now_ms() - t0, 5000);
    ASSERT_TRUE(strstr(e.msg, "exited with status 7 during start: fake-cloud-hypervisor: "
                              "exiting at start as asked") != NULL);
    vm = hv_vm_free(vm);
    unsetenv("FAKE_CLH_EXIT_AT_START");
    return 0;
}

TEST(silent_vmm_times_out_and_is_reaped)
{
    struct fixture fx;
    struct err e = ERR_INIT;
    struct hv_vm *vm = NULL;
    int r = fixture_init(&fx, "hang");
    if (r == -ENOENT)
        return test_skip("fake-cloud-hypervisor not built");
    ASSERT_OK(r);
    setenv("FAKE_CLH_FAULT", "vmm.ping:hang", 1);
    ASSERT_OK(hv_vm_new(&fx.cfg, fx.state, "sb4", &vm, &e));
    uint64_t t0 = now_ms();
    ASSERT_EQ(hv_vm_start(vm, 1000000000u, &e), -ETIMEDOUT);
    ASSERT_LT(now_ms() - t0, 4000);
    ASSERT_EQ(hv_vm_pidfd(vm), -1);
    vm = hv_vm_free(vm);
    unsetenv("FAKE_CLH_FAULT");
    return 0;
}

TEST(stop_kills_a_vmm_that_ignores_shutdown)
{
    struct fixture fx;
    struct err e = ERR_INIT;
    struct hv_vm *vm = NULL;
    int r = fixture_init(&fx, "nostop");
    if (r == -ENOENT)
        return test_skip("fake-cloud-hypervisor not built");
    ASSERT_OK(r);
    setenv("FAKE_CLH_FAULT", "vmm.shutdown:hang", 1);
    ASSERT_OK(hv_vm_new(&fx.cfg, fx.state, "sb5", &vm, &e));
    ASSERT_OK(hv_vm_start(vm, 10ull * 1000000000u, &e));
    int pid = hv_vm_pid(vm);
    uint64_t t0 = now_ms();
    ASSERT_OK(hv_vm_stop(vm, 500000000u, &e));
    ASSERT_LT(now_ms() - t0, 3000);
    ASSERT_TRUE(pid_gone(pid));
    ASSERT_EQ(hv_vm_pidfd(vm), -1);
    vm = hv_vm_free(vm);
    unsetenv("FAKE_CLH_FAULT");
    return 0;
}

TEST(hostile_replies_fail_start_clearly)
{
    static const struct {
        const char *fault;
        int code;
        const char *msg;
    } cases[] = {
        {"vm.info:wrong-shape", -EPROTO, "unknown state \"Dancing\""},
        {"vm.create:error-500", -EIO, "vm.create: HTTP 500"},
        {"vmm.ping:huge-body", -EMSGSIZE, "over"},
        {"vm.boot:bad-status", -EPROTO, "vm.boot"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture fx;
        struct err e = ERR_INIT;
        struct hv_vm *vm = NULL;
        char name[32];
        FMT(name, "hostile%zu", i);
        int r = fixture_init(&fx, name);
        if (r == -ENOENT)
            return test_skip("fake-cloud-hypervisor not built");
        ASSERT_OK(r);
        setenv("FAKE_CLH_FAULT", cases[i].fault, 1);
        ASSERT_OK(hv_vm_new(&fx.cfg, fx.state, name, &vm, &e));
        r = hv_vm_start(vm, 5ull * 1000000000u, &e);
        if (r != cases[i].code || !strstr(e.msg, cases[i].msg)) {
            fprintf(stderr, "%s: %d \"%s\"\n", cases[i].fault, r, e.msg);
            hv_vm_free(vm);
            return 1;
        }
        ASSERT_EQ(hv_vm_pidfd(vm), -1);
        vm = hv_vm_free(vm);
    }
    unsetenv("FAKE_CLH_FAULT");
    return 0;
}

TEST(bad_config_is_refused_before_start)
{
    struct fixture fx;
    struct err e = ERR_INIT;
    struct hv_vm *vm = NULL;
    int r = fixture_init(&fx, "badcfg");
    if (r == -ENOENT)
        return test_skip("fake-cloud-hypervisor not built");
    ASSERT_OK(r);
    fx.cfg.shared_fs = HV_SHARED_FS_VIRTIO_9P;
    ASSERT_EQ(hv_vm_new(&fx.cfg, fx.state, "c1", &vm, &e), -EINVAL);
    ASSERT_TRUE(strstr(e.msg, "9p") != NULL);
    err_clear(&e);
    fx.cfg.shared_fs = HV_SHARED_FS_NONE;
    fx.cfg.transport = HV_TRANSPORT_VSOCK;
    ASSERT_EQ(hv_vm_new(&fx.cfg, fx.state, "c2", &vm, &e), -EINVAL);
    err_clear(&e);
    fx.cfg.transport = HV_TRANSPORT_AUTO;
    char missing[PATH_MAX];
    FMT(missing, "%s/nope", fx.dir);
    fx.cfg.kernel = missing;
    ASSERT_EQ(hv_vm_new(&fx.cfg, fx.state, "c3", &vm, &e), -ENOENT);
    ASSERT_TRUE(strstr(e.msg, "kernel") != NULL);
    return 0;
}

TEST(cleanup_kills_a_leftover_vmm)
{
    struct fixture fx;
    struct err e = ERR_INIT;
    struct hv_vm *vm = NULL;
    int r = fixture_init(&fx, "cleanup");
    if (r == -ENOENT)
        return test_skip("fake-cloud-hypervisor not built");
    ASSERT_OK(r);
    fx.cfg.shared_fs = HV_SHARED_FS_NONE;
    ASSERT_OK(hv_vm_new(&fx.cfg, fx.state, "sb6", &vm, &e));
    ASSERT_OK(hv_vm_start(vm, 10ull * 1000000000u, &e));
    int pid = hv_vm_pid(vm);
    /* As a later `delete` after a crash would: only the state folder. */
    ASSERT_OK(hv_cleanup(HV_KIND_CLH, fx.state, "sb6", &e));
    ASSERT_OK(hv_vm_stop(vm, 1000000000u, &e)); /* reaps our child */
    ASSERT_TRUE(pid_gone(pid));
    vm = hv_vm_free(vm);
    ASSERT_OK(hv_cleanup(HV_KIND_CLH, fx.state, "sb6", &e)); /* nothing left: fine */
    return 0;
}
