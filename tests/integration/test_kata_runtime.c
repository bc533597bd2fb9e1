/* The built kata-runtime binary: env --json against a golden file, check
 * on this host (its verdict must match what the host really offers, and
 * come quickly), bad configuration files (exit status and FILE:LINE), and
 * the shipped configuration files (they load back to the schema defaults). */
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/cfg.h"
#include "config/hostcheck.h"
#include "lib/err.h"
#include "tests/harness/harness.h"

#ifndef KATA_RUNTIME_BIN
#error "built by shim/kata-runtime/kata-runtime.mk, which defines KATA_RUNTIME_BIN"
#endif

struct result {
    int status; /* exit status, or 128 + signal */
    char out[65536];
    char err[16384];
    long long ms;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : 0;
    buf[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
}

/* Runs kata-runtime with args (NULL-terminated); env_conf sets
 * KATA_CONF_FILE (NULL unsets it). */
static struct result *run(const char *env_conf, const char *const *args)
{
    static int seq;
    static struct result r;
    char out[256], err[256];
    snprintf(out, sizeof(out), "%s/out.%d", test_tmpdir(), seq);
    snprintf(err, sizeof(err), "%s/err.%d", test_tmpdir(), seq++);
    const char *argv[16] = {KATA_RUNTIME_BIN};
    for (size_t i = 0; args[i] && i + 2 < ELEMENTSOF(argv); i++)
        argv[i + 1] = args[i];
    long long t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        if (env_conf)
            setenv("KATA_CONF_FILE", env_conf, 1);
        else
            unsetenv("KATA_CONF_FILE");
        alarm(30);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    memset(&r, 0, sizeof(r));
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        r.status = -1;
    else
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.ms = now_ms() - t0;
    slurp(out, r.out, sizeof(r.out));
    slurp(err, r.err, sizeof(r.err));
    return &r;
}

#define RUN(env, ...) run((env), (const char *const[]){__VA_ARGS__, NULL})

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static const char *data(const char *name)
{
    static char path[8][512];
    static int i;
    char *p = path[i++ % 8];
    snprintf(p, 512, "%s/%s", KATA_TEST_DATA, name);
    return p;
}

TEST(version_and_usage)
{
    struct result *r = RUN(NULL, "--version");
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "kata-runtime  : "));
    ASSERT_EQ(RUN(NULL, "-v")->status, 0);
    ASSERT_EQ(RUN(NULL, "version")->status, 0);
    r = RUN(NULL, "--help");
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "Exit status: 0") && strstr(r->out, "--strict"));
    ASSERT_EQ(RUN(NULL, "bogus")->status, 64);
    ASSERT_EQ(RUN(NULL, "check", "--bogus")->status, 64);
    ASSERT_EQ(RUN(NULL, "env", "extra")->status, 64);
    ASSERT_EQ(RUN(NULL, "generate-config", "firecracker")->status, 64);
    return 0;
}

/* The shipped files are generated from the schema; they must load back to
 * exactly the built-in defaults, and every key carries a comment. */
TEST(shipped_configs_are_the_schema_defaults)
{
    static const char *const kinds[] = {"qemu", "clh"};
    for (int k = 0; k < 2; k++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/configuration-%s.toml", KATA_GEN_CONFIG_DIR, kinds[k]);
        _cleanup_cfg_ struct cfg *loaded = NULL, *defaults = NULL;
        struct err e = ERR_INIT;
        if (cfg_load(path, &loaded, &e) < 0) {
            printf("#   %s\n", err_msg(&e));
            return 1;
        }
        ASSERT_OK(cfg_defaults((enum cfg_hv_kind)k, &defaults));
        char key[128] = "";
        if (cfg_compare(loaded, defaults, key, sizeof(key)) != 0) {
            printf("#   %s differs from the defaults at %s\n", path, key);
            return 1;
        }
        /* the file is the generator's output, byte for byte */
        static char file[65536];
        slurp(path, file, sizeof(file));
        struct result *r = RUN(NULL, "generate-config", kinds[k]);
        ASSERT_EQ(r->status, 0);
        ASSERT_STREQ(r->out, file);
        /* each "key = value" line follows a comment line */
        const char *prev = "", *line = file;
        int keys = 0;
        while (*line) {
            const char *nl = strchr(line, '\n');
            if (line[0] != '#' && line[0] != '[' && line[0] != '\n' && strstr(line, " = ") &&
                (!nl || strstr(line, " = ") < nl)) {
                keys++;
                if (prev[0] != '#') {
                    printf("#   uncommented key: %.40s\n", line);
                    return 1;
                }
            }
            prev = line;
            line = nl ? nl + 1 : line + strlen(line);
        }
        ASSERT_GT(keys, 40);
    }
    return 0;
}

/* want: the golden value; "@any" matches any value, "@config" the config
 * path. Objects must have exactly the same keys. */
static int match(json_object *want, json_object *got, const char *config, const char *where)
{
    if (json_object_is_type(want, json_type_string)) {
        const char *w = json_object_get_string(want);
        if (strcmp(w, "@any") == 0 && got)
            return 0;
        if (strcmp(w, "@config") == 0 && json_object_is_type(got, json_type_string) &&
            strcmp(json_object_get_string(got), config) == 0)
            return 0;
    }
    if (json_object_is_type(want, json_type_object)) {
        if (!json_object_is_type(got, json_type_object)) {
            printf("#   %s: not an object\n", where);
            return 1;
        }
        json_object_object_foreach(got, gk, gv)
        {
            (void)gv;
            if (!json_object_object_get_ex(want, gk, NULL)) {
                printf("#   %s.%s: not in the golden file\n", where, gk);
                return 1;
            }
        }
        json_object_object_foreach(want, wk, wv)
        {
            json_object *gv2 = NULL;
            char sub[256];
            snprintf(sub, sizeof(sub), "%s.%s", where, wk);
            if (!json_object_object_get_ex(got, wk, &gv2)) {
                printf("#   %s: missing\n", sub);
                return 1;
            }
            if (match(wv, gv2, config, sub))
                return 1;
        }
        return 0;
    }
    if (!json_object_equal(want, got)) {
        printf("#   %s: got %s, want %s\n", where, json_object_to_json_string(got),
               json_object_to_json_string(want));
        return 1;
    }
    return 0;
}

TEST(env_json_matches_golden)
{
    const char *config = data("env.toml");
    struct result *r = RUN(NULL, "env", "--json", "--config", config);
    ASSERT_EQ(r->status, 0);
    json_object *got = json_tokener_parse(r->out);
    json_object *want = json_object_from_file(data("env-golden.json"));
    ASSERT_TRUE(got && want);
    int m = match(want, got, config, "");
    json_object_put(got);
    json_object_put(want);
    ASSERT_EQ(m, 0);
    /* env.toml sets two keys this runtime does not implement: each is named
     * with its line, once, on stderr and in Config.NotImplemented. */
    ASSERT_TRUE(strstr(r->err, "env.toml:17: [hypervisor.qemu] block_device_driver = "
                               "\\\"virtio-blk\\\" is not implemented by this runtime"));
    ASSERT_TRUE(strstr(r->err, "env.toml:31: [runtime] sandbox_cgroup_only = true is not "
                               "implemented by this runtime and has no effect"));
    ASSERT_TRUE(strstr(r->out, "env.toml:17: [hypervisor.qemu] block_device_driver"));
    ASSERT_TRUE(strstr(r->out, "env.toml:31: [runtime] sandbox_cgroup_only"));
    return 0;
}

TEST(env_text_and_discovery)
{
    const char *config = data("env.toml");
    /* --config before the command, as a global option */
    struct result *r = RUN(NULL, "--config", config, "env");
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "[Hypervisor]\n  Kind = \"qemu\"\n"));
    ASSERT_TRUE(strstr(r->out, "[Host.KVM]\n"));
    ASSERT_TRUE(strstr(r->out, "  KernelModules = [\"virtio_blk\",\"loop max_loop=8\"]\n"));
    /* KATA_CONF_FILE when nothing is given */
    r = RUN(config, "env", "--json");
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "\"Source\": \"KATA_CONF_FILE\""));
    /* --config wins over KATA_CONF_FILE */
    r = RUN("/nonexistent.toml", "env", "--config", config);
    ASSERT_EQ(r->status, 0);
    r = RUN("/nonexistent.toml", "env");
    ASSERT_EQ(r->status, 1);
    ASSERT_TRUE(strstr(r->err, "/nonexistent.toml (from KATA_CONF_FILE): No such file"));
    return 0;
}

/* A configuration whose files exist: fake VMM and virtiofsd scripts, a
 * kernel and an initrd, all in the scratch folder. */
static const char *fake_assets(const char *kind)
{
    static char config[512];
    const char *d = test_tmpdir();
    char p[512], text[2048];
    snprintf(p, sizeof(p), "%s/vmm-%s", d, kind);
    if (write_file(p, "#!/bin/sh\necho \"Fake VMM version 9.9.9\"\n", 0755) < 0)
        return NULL;
    snprintf(p, sizeof(p), "%s/virtiofsd", d);
    write_file(p, "#!/bin/sh\necho \"virtiofsd version 9.9.9\"\n", 0755);
    snprintf(p, sizeof(p), "%s/vmlinuz", d);
    write_file(p, "kernel", 0644);
    snprintf(p, sizeof(p), "%s/initrd.img", d);
    write_file(p, "initrd", 0644);
    snprintf(text, sizeof(text),
             "[hypervisor.%s]\n"
             "path = \"%s/vmm-%s\"\n"
             "valid_hypervisor_paths = [\"%s/vmm-*\"]\n"
             "kernel = \"%s/vmlinuz\"\n"
             "initrd = \"%s/initrd.img\"\n"
             "virtio_fs_daemon = \"%s/virtiofsd\"\n"
             "valid_virtio_fs_daemon_paths = [\"%s/*\"]\n",
             kind, d, kind, d, d, d, d, d);
    snprintf(config, sizeof(config), "%s/check-%s.toml", d, kind);
    return write_file(config, text, 0644) < 0 ? NULL : config;
}

static bool host_has_hw_virt(void)
{
    struct hostcheck_cpu cpu;
    return hostcheck_cpu(NULL, &cpu) < 0 || cpu.vmx || cpu.svm;
}

static int lines_are_well_formed(const char *out)
{
    for (const char *l = out; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        bool ok = strncmp(l, "[OK] ", 5) == 0 || strncmp(l, "[WARN] ", 7) == 0 ||
                  strncmp(l, "[FAIL] ", 7) == 0 || strncmp(l, "Verdict: ", 9) == 0 ||
                  strncmp(l, "  - ", 4) == 0 || (n > 0 && l[n - 1] == ':') ||
                  strncmp(l, "Strict mode: ", 13) == 0;
        if (!ok) {
            printf("#   unexpected line: %.*s\n", (int)n, l);
            return 1;
        }
        l += n + (nl ? 1 : 0);
    }
    return 0;
}

TEST(check_on_this_host)
{
    const char *config = fake_assets("qemu");
    ASSERT_TRUE(config);
    struct result *r = RUN(NULL, "check", "--config", config);
    for (const char *l = r->out; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0))
        printf("#   %.*s\n", (int)strcspn(l, "\n"), l);
    printf("#   (%lld ms)\n", r->ms);
    ASSERT_LT(r->ms, 8000);
    ASSERT_EQ(lines_are_well_formed(r->out), 0);
    ASSERT_TRUE(strstr(r->out, "[OK] hypervisor: ") && strstr(r->out, "Fake VMM version 9.9.9"));
    ASSERT_TRUE(strstr(r->out, "[OK] kernel: ") && strstr(r->out, "[OK] initrd: "));
    ASSERT_TRUE(!strstr(r->out, "[FAIL]"));
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "Verdict: this host can run Kata VMs"));
    /* The verdict names the fallbacks this host really needs. */
    if (!host_has_hw_virt()) {
        ASSERT_TRUE(strstr(r->out, "[WARN] kvm: "));
        ASSERT_TRUE(strstr(r->out, "  - KVM cannot run a 64-bit guest: VMs will use TCG (slow)\n"));
    }
    if (access("/dev/vhost-vsock", F_OK) < 0) {
        ASSERT_TRUE(strstr(r->out, "[WARN] vhost-vsock: "));
        ASSERT_TRUE(
            strstr(r->out, "  - no /dev/vhost-vsock: agent channel will use virtio-serial\n"));
    }
    bool warned = strstr(r->out, "[WARN]") != NULL;
    /* --strict turns warnings into exit status 2 */
    r = RUN(NULL, "check", "--strict", "--verbose", "--config", config);
    ASSERT_EQ(r->status, warned ? 2 : 0);
    ASSERT_TRUE(strstr(r->out, "[OK] cpu: "));
    /* --no-network-checks drops vhost-net and tun */
    r = RUN(NULL, "check", "-n", "--config", config);
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(!strstr(r->out, "] vhost-net: ") && !strstr(r->out, "] tun: "));
    return 0;
}

TEST(check_fails_without_assets)
{
    char config[512];
    snprintf(config, sizeof(config), "%s/missing.toml", test_tmpdir());
    ASSERT_OK(write_file(config,
                         "[hypervisor.qemu]\n"
                         "path = \"/nonexistent/qemu\"\n"
                         "valid_hypervisor_paths = []\n"
                         "kernel = \"/nonexistent/vmlinuz\"\n"
                         "shared_fs = \"none\"\n",
                         0644));
    struct result *r = RUN(NULL, "check", "--config", config);
    ASSERT_EQ(r->status, 1);
    ASSERT_TRUE(strstr(r->out, "[FAIL] hypervisor: /nonexistent/qemu (path): No such file"));
    ASSERT_TRUE(strstr(r->out, "[FAIL] kernel: /nonexistent/vmlinuz: No such file"));
    ASSERT_TRUE(strstr(r->out, "Verdict: this host cannot run Kata VMs"));
    ASSERT_TRUE(!strstr(r->out, "] virtiofsd: ")); /* not needed without virtio-fs */
    return 0;
}

TEST(check_cloud_hypervisor_needs_kvm)
{
    if (host_has_hw_virt())
        return test_skip("this host may have a usable KVM");
    const char *config = fake_assets("clh");
    ASSERT_TRUE(config);
    struct result *r = RUN(NULL, "check", "--config", config);
    ASSERT_EQ(r->status, 1);
    ASSERT_TRUE(strstr(r->out, "[FAIL] kvm: Cloud Hypervisor needs KVM"));
    ASSERT_TRUE(strstr(r->out, "[OK] vhost-vsock: not needed"));
    return 0;
}

TEST(check_mock_driver)
{
    char config[512], agent[512];
    snprintf(agent, sizeof(agent), "%s/kata-agent", test_tmpdir());
    snprintf(config, sizeof(config), "%s/mock.toml", test_tmpdir());
    ASSERT_OK(write_file(agent, "#!/bin/sh\nexit 0\n", 0755));
    char text[1024];
    snprintf(text, sizeof(text), "[hypervisor.mock]\npath = \"%s\"\n", agent);
    ASSERT_OK(write_file(config, text, 0644));
    struct result *r = RUN(NULL, "check", "--config", config);
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "[OK] kvm: not used: the mock driver runs no VM"));
    ASSERT_TRUE(strstr(r->out, "[OK] hypervisor: mock driver: runs "));
    r = RUN(NULL, "env", "--json", "--config", config);
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "\"AccelChosen\": \"none\""));
    ASSERT_TRUE(strstr(r->out, "\"TransportChosen\": \"unix\""));
    return 0;
}

/* A key this runtime does not implement, set to a non-default value: a
 * [WARN] line naming file, line and key (not a failure, except --strict). */
TEST(check_warns_about_unimplemented_keys)
{
    char config[512], agent[512], text[1024];
    snprintf(agent, sizeof(agent), "%s/kata-agent", test_tmpdir());
    snprintf(config, sizeof(config), "%s/noop.toml", test_tmpdir());
    ASSERT_OK(write_file(agent, "#!/bin/sh\nexit 0\n", 0755));
    snprintf(text, sizeof(text), "[hypervisor.mock]\npath = \"%s\"\n[runtime]\n%s\n", agent,
             "enable_pprof = true");
    ASSERT_OK(write_file(config, text, 0644));
    struct result *r = RUN(NULL, "check", "--config", config);
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "[WARN] config-key: "));
    ASSERT_TRUE(strstr(r->out, "noop.toml:4: [runtime] enable_pprof = true is not implemented by "
                               "this runtime and has no effect"));
    r = RUN(NULL, "check", "--strict", "--config", config);
    ASSERT_EQ(r->status, 2);
    /* the default value says nothing */
    snprintf(text, sizeof(text), "[hypervisor.mock]\npath = \"%s\"\n[runtime]\n%s\n", agent,
             "enable_pprof = false");
    ASSERT_OK(write_file(config, text, 0644));
    r = RUN(NULL, "check", "--config", config);
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(!strstr(r->out, "config-key"));
    ASSERT_TRUE(!strstr(r->err, "not implemented"));
    return 0;
}

TEST(bad_files_exit_1_with_file_and_line)
{
    static const struct {
        const char *file, *msg;
    } cases[] = {
        {"bad-syntax.toml", ":3:17: "},
        {"bad-type.toml", ":4: [hypervisor.qemu] default_memory: expected an integer, got string"},
        {"bad-path.toml", ":3: [hypervisor.qemu] path: \"/usr/local/bin/evil-qemu\" does not "
                          "match any pattern of valid_hypervisor_paths"},
        {"bad-value.toml", ":3: [hypervisor.qemu] default_vcpus: must be at least 1, got 0"},
    };
    static const char *const commands[] = {"check", "env"};
    for (size_t i = 0; i < ELEMENTSOF(cases); i++)
        for (size_t c = 0; c < ELEMENTSOF(commands); c++) {
            const char *path = data(cases[i].file);
            struct result *r = RUN(NULL, commands[c], "--config", path);
            char want[512];
            snprintf(want, sizeof(want), "kata-runtime: invalid configuration: %s%s", path,
                     cases[i].msg);
            if (r->status != 1 || !strstr(r->err, want) || r->out[0]) {
                printf("#   %s %s: status %d, stderr: %s#   want: %s\n", commands[c],
                       cases[i].file, r->status, r->err, want);
                return 1;
            }
        }
    return 0;
}

TEST(unknown_section_only_warns)
{
    const char *path = data("unknown-section.toml");
    struct result *r = RUN(NULL, "env", "--config", path);
    ASSERT_EQ(r->status, 0);
    char want[512];
    snprintf(want, sizeof(want), "%s:4: unknown section [no_such_section], ignored", path);
    ASSERT_TRUE(strstr(r->err, want));
    snprintf(want, sizeof(want), "%s:3: [hypervisor.qemu] unknown key \\\"no_such_key\\\"", path);
    ASSERT_TRUE(strstr(r->err, want));
    return 0;
}

/* env lists the config.d drop-ins it merged; a bad one names itself. */
TEST(env_shows_dropins)
{
    struct result *r = RUN(NULL, "--config", data("dropin/configuration.toml"), "env", "--json");
    ASSERT_EQ(r->status, 0);
    ASSERT_TRUE(strstr(r->out, "\"DropIns\": [\n"));
    ASSERT_TRUE(strstr(r->out, "/dropin/config.d/10-resources.toml\",\n"));
    ASSERT_TRUE(strstr(r->out, "/dropin/config.d/20-debug.toml\"\n"));
    ASSERT_TRUE(strstr(r->out, "\"Debug\": true"));
    r = RUN(NULL, "--config", data("dropin-bad/configuration.toml"), "env");
    ASSERT_EQ(r->status, 1);
    ASSERT_TRUE(strstr(r->err, "/dropin-bad/config.d/50-bad.toml:4: [hypervisor.qemu] "
                               "default_memory: expected an integer"));
    return 0;
}
