/* agent/cmdline.c: the agent.* kernel parameters (and the cgroup keys),
 * with upstream's names and units; nothing on the command line can make
 * the parser fail, it logs and keeps the default. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/cmdline.h"
#include "lib/log.h"
#include "tests/harness/harness.h"

/* Log lines written while parsing text, into buf. */
static void parse_logged(const char *text, struct agent_cmdline *c, char *buf, size_t size)
{
    int fd = memfd_create("log", MFD_CLOEXEC);
    log_set_fd(fd);
    cmdline_parse(text, c);
    log_set_fd(2);
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
}

TEST(defaults)
{
    struct agent_cmdline c;
    cmdline_parse("", &c);
    ASSERT_TRUE(!c.log_level_set);
    ASSERT_EQ(c.log_level, LOG_INFO);
    ASSERT_TRUE(!c.debug_console);
    ASSERT_EQ(c.debug_console_vport, 0);
    ASSERT_EQ(c.log_vport, 0);
    ASSERT_STREQ(c.server_addr, "");
    ASSERT_EQ(c.container_pipe_size, 0);
    ASSERT_EQ(c.hotplug_timeout_ms, 0);
    ASSERT_EQ(c.n_kernel_modules, 0);
    ASSERT_TRUE(!c.cgroup_unified);
    ASSERT_EQ(c.n_warnings, 0);
    ASSERT_EQ(c.n_ignored, 0);
    return 0;
}

TEST(every_known_parameter)
{
    struct agent_cmdline c;
    cmdline_parse("console=ttyS0 panic=1 agent.log=debug agent.debug_console "
                  "agent.debug_console_vport=1026 agent.log_vport=1025 "
                  "agent.server_addr=vsock://-1:1024 agent.container_pipe_size=65536 "
                  "agent.hotplug_timeout=7 agent.kernel_modules=virtio_net,fuse quiet\n",
                  &c);
    ASSERT_TRUE(c.log_level_set);
    ASSERT_EQ(c.log_level, LOG_DEBUG);
    ASSERT_TRUE(c.debug_console);
    ASSERT_EQ(c.debug_console_vport, 1026);
    ASSERT_EQ(c.log_vport, 1025);
    ASSERT_STREQ(c.server_addr, "vsock://-1:1024");
    ASSERT_EQ(c.container_pipe_size, 65536);
    ASSERT_EQ(c.hotplug_timeout_ms, 7000);
    ASSERT_EQ(c.n_kernel_modules, 2);
    ASSERT_STREQ(c.kernel_modules[0], "virtio_net");
    ASSERT_STREQ(c.kernel_modules[1], "fuse");
    ASSERT_EQ(c.n_warnings, 0);
    ASSERT_EQ(c.n_ignored, 0);
    return 0;
}

TEST(log_levels_as_upstream)
{
    static const struct {
        const char *text;
        enum log_level level;
    } cases[] = {
        {"agent.log=critical", LOG_ERROR}, {"agent.log=fatal", LOG_ERROR},
        {"agent.log=panic", LOG_ERROR},    {"agent.log=error", LOG_ERROR},
        {"agent.log=warn", LOG_WARN},      {"agent.log=warning", LOG_WARN},
        {"agent.log=info", LOG_INFO},      {"agent.log=DEBUG", LOG_DEBUG},
        {"agent.log=trace", LOG_TRACE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct agent_cmdline c;
        cmdline_parse(cases[i].text, &c);
        ASSERT_TRUE(c.log_level_set);
        ASSERT_EQ(c.log_level, cases[i].level);
    }
    return 0;
}

TEST(unknown_agent_parameter_is_logged_not_fatal)
{
    struct agent_cmdline c;
    char log[4096];
    parse_logged("agent.foo=1 agent.hotplug_timeout=7 agent.bar foo=bar", &c, log, sizeof(log));
    ASSERT_EQ(c.n_warnings, 2);
    ASSERT_EQ(c.hotplug_timeout_ms, 7000);
    ASSERT_TRUE(strstr(log, "level=warning") != NULL);
    ASSERT_TRUE(strstr(log, "agent.foo") != NULL);
    ASSERT_TRUE(strstr(log, "agent.bar") != NULL);
    ASSERT_TRUE(strstr(log, "foo=bar") == NULL); /* not ours: silence */
    return 0;
}

TEST(malformed_values_keep_defaults)
{
    struct agent_cmdline c;
    char log[8192];
    parse_logged("agent.hotplug_timeout=abc agent.log_vport=-1 agent.debug_console_vport=0 "
                 "agent.log=loud agent.server_addr=tcp://1.2.3.4:5 agent.container_pipe_size=1k "
                 "agent.debug_console=maybe",
                 &c, log, sizeof(log));
    ASSERT_EQ(c.n_warnings, 7);
    ASSERT_EQ(c.hotplug_timeout_ms, 0);
    ASSERT_EQ(c.log_vport, 0);
    ASSERT_EQ(c.debug_console_vport, 0);
    ASSERT_TRUE(!c.log_level_set);
    ASSERT_STREQ(c.server_addr, "");
    ASSERT_EQ(c.container_pipe_size, 0);
    ASSERT_TRUE(!c.debug_console);
    /* each message names the parameter at fault */
    ASSERT_TRUE(strstr(log, "agent.hotplug_timeout=abc") != NULL);
    ASSERT_TRUE(strstr(log, "agent.server_addr=tcp://1.2.3.4:5") != NULL);
    ASSERT_TRUE(strstr(log, "agent.debug_console=maybe") != NULL);

    /* out of range: zero, over an hour, over 32 bits */
    cmdline_parse("agent.hotplug_timeout=0", &c);
    ASSERT_EQ(c.hotplug_timeout_ms, 0);
    ASSERT_EQ(c.n_warnings, 1);
    cmdline_parse("agent.hotplug_timeout=3601", &c);
    ASSERT_EQ(c.hotplug_timeout_ms, 0);
    cmdline_parse("agent.hotplug_timeout=3600", &c);
    ASSERT_EQ(c.hotplug_timeout_ms, 3600000);
    cmdline_parse("agent.log_vport=4294967296", &c);
    ASSERT_EQ(c.log_vport, 0);
    ASSERT_EQ(c.n_warnings, 1);
    cmdline_parse("agent.log_vport=4294967295", &c);
    ASSERT_EQ(c.log_vport, 4294967295u);
    /* a bad value after a good one leaves the good one */
    cmdline_parse("agent.hotplug_timeout=5 agent.hotplug_timeout=x", &c);
    ASSERT_EQ(c.hotplug_timeout_ms, 5000);
    return 0;
}

TEST(guest_components_and_cdh_ignored_with_a_log_line)
{
    struct agent_cmdline c;
    char log[4096];
    parse_logged("agent.cdh_api_timeout=50 agent.guest_components_procs=none "
                 "agent.guest_components_rest_api=all agent.https_proxy=http://u:secret@p "
                 "agent.trace=true",
                 &c, log, sizeof(log));
    ASSERT_EQ(c.n_ignored, 5);
    ASSERT_EQ(c.n_warnings, 0);
    ASSERT_TRUE(strstr(log, "agent.cdh_api_timeout") != NULL);
    ASSERT_TRUE(strstr(log, "agent.guest_components_procs") != NULL);
    ASSERT_TRUE(strstr(log, "secret") == NULL); /* values of ignored keys stay out */
    return 0;
}

TEST(cgroup_hierarchy_choice)
{
    struct agent_cmdline c;
    cmdline_parse("systemd.unified_cgroup_hierarchy=1", &c);
    ASSERT_TRUE(c.cgroup_unified);
    cmdline_parse("systemd.unified_cgroup_hierarchy=true", &c);
    ASSERT_TRUE(c.cgroup_unified);
    cmdline_parse("systemd.unified_cgroup_hierarchy", &c);
    ASSERT_TRUE(c.cgroup_unified);
    cmdline_parse("systemd.unified_cgroup_hierarchy=0", &c);
    ASSERT_TRUE(!c.cgroup_unified);
    cmdline_parse("cgroup_no_v1=all", &c);
    ASSERT_TRUE(c.cgroup_unified);
    cmdline_parse("cgroup_no_v1=memory,cpu", &c);
    ASSERT_TRUE(!c.cgroup_unified);
    cmdline_parse("cgroup_no_v1=memory,all", &c);
    ASSERT_TRUE(c.cgroup_unified);
    cmdline_parse("cgroup_no_v1=allx", &c);
    ASSERT_TRUE(!c.cgroup_unified);
    cmdline_parse("systemd.unified_cgroup_hierarchy=sometimes", &c);
    ASSERT_TRUE(!c.cgroup_unified);
    ASSERT_EQ(c.n_warnings, 1);
    return 0;
}

TEST(quotes_and_module_lists)
{
    struct agent_cmdline c;
    cmdline_parse("a=\"x y\" agent.kernel_modules=\"virtio_net fuse,overlay\" b", &c);
    ASSERT_EQ(c.n_kernel_modules, 3);
    ASSERT_STREQ(c.kernel_modules[0], "virtio_net");
    ASSERT_STREQ(c.kernel_modules[1], "fuse");
    ASSERT_STREQ(c.kernel_modules[2], "overlay");
    ASSERT_EQ(c.n_warnings, 0);

    /* the whole token quoted, as the kernel also accepts */
    cmdline_parse("\"agent.server_addr=unix:///run/a.sock\"", &c);
    ASSERT_STREQ(c.server_addr, "unix:///run/a.sock");

    /* names that could leave /lib/modules are refused, the rest kept */
    cmdline_parse("agent.kernel_modules=../../etc/x,,ok_1,a/b,", &c);
    ASSERT_EQ(c.n_kernel_modules, 1);
    ASSERT_STREQ(c.kernel_modules[0], "ok_1");
    ASSERT_EQ(c.n_warnings, 2);

    /* a later occurrence replaces the list */
    cmdline_parse("agent.kernel_modules=a,b agent.kernel_modules=c", &c);
    ASSERT_EQ(c.n_kernel_modules, 1);
    ASSERT_STREQ(c.kernel_modules[0], "c");

    /* bounded: the 33rd module is dropped with a warning */
    char text[1024] = "agent.kernel_modules=";
    for (int i = 0; i < CMDLINE_MAX_MODULES + 1; i++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "m%d,", i);
    cmdline_parse(text, &c);
    ASSERT_EQ(c.n_kernel_modules, CMDLINE_MAX_MODULES);
    ASSERT_EQ(c.n_warnings, 1);
    return 0;
}

TEST(huge_tokens_and_unterminated_quotes)
{
    struct agent_cmdline c;
    size_t n = 10000;
    char *text = malloc(n + 64);
    ASSERT_TRUE(text != NULL);
    strcpy(text, "agent.server_addr=unix:///");
    memset(text + strlen(text), 'a', n);
    strcpy(text + strlen("agent.server_addr=unix:///") + n, " agent.log=debug");
    cmdline_parse(text, &c);
    free(text);
    ASSERT_STREQ(c.server_addr, "");
    ASSERT_EQ(c.n_warnings, 1);
    ASSERT_EQ(c.log_level, LOG_DEBUG);

    /* an open quote runs to the end of the line, as in the kernel */
    cmdline_parse("agent.log=\"debug agent.log_vport=9", &c);
    ASSERT_EQ(c.log_vport, 0);
    ASSERT_TRUE(!c.log_level_set);
    return 0;
}

TEST(read_from_a_file)
{
    struct agent_cmdline c;
    char path[512];
    snprintf(path, sizeof(path), "%s/cmdline", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("BOOT_IMAGE=/vmlinuz agent.log_vport=1025 agent.debug_console\n", f);
    fclose(f);
    ASSERT_EQ(cmdline_read(path, &c), 0);
    ASSERT_EQ(c.log_vport, 1025);
    ASSERT_TRUE(c.debug_console);

    snprintf(path, sizeof(path), "%s/missing", test_tmpdir());
    ASSERT_EQ(cmdline_read(path, &c), -ENOENT);
    ASSERT_EQ(c.log_vport, 0);
    return 0;
}
