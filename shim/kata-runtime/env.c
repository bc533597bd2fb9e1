/* `kata-runtime env [--json]`: what the runtime would use on this host.
 * One json-c document is built and printed either as JSON or, by default,
 * as TOML-like sections (upstream's kata-env prints TOML). Section and key
 * names follow upstream's kata-env where it has them; the set of keys is
 * stable (tests/data/config/env-golden.json holds it). */
#include <json-c/json.h>
#include <string.h>

#include "shim/kata-runtime/kata-runtime.h"

/* upstream kata-env's format version */
#define ENV_FORMAT_VERSION "1.0.27"

static void add_str(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, json_object_new_string(value ? value : ""));
}

static void add_bool(json_object *o, const char *key, bool value)
{
    json_object_object_add(o, key, json_object_new_boolean(value));
}

static void add_int(json_object *o, const char *key, long long value)
{
    json_object_object_add(o, key, json_object_new_int64(value));
}

static void add_strv(json_object *o, const char *key, char *const *list)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; list && list[i]; i++)
        json_object_array_add(a, json_object_new_string(list[i]));
    json_object_object_add(o, key, a);
}

static json_object *add_obj(json_object *parent, const char *key)
{
    json_object *o = json_object_new_object();
    json_object_object_add(parent, key, o);
    return o;
}

static json_object *runtime_section(const struct conf *rc)
{
    const struct cfg *c = rc->cfg;
    json_object *o = json_object_new_object();
    json_object *v = add_obj(o, "Version");
    add_str(v, "Semver", KATA_RUNTIME_VERSION);
    add_str(v, "Commit", KATA_RUNTIME_COMMIT);
    json_object *conf = add_obj(o, "Config");
    add_str(conf, "Path", rc->path);
    add_str(conf, "Source", rc->source);
    add_strv(conf, "DropIns", c->dropins); /* config.d files merged, in order */
    /* keys set to a value this runtime accepts but does not act on */
    add_strv(conf, "NotImplemented", c->unimplemented);
    add_bool(o, "Debug", c->runtime.enable_debug);
    add_bool(o, "Trace", c->runtime.enable_tracing);
    add_str(o, "InternetworkingModel",
            cfg_enum_name(CFG_ENUM_NETMODEL, (int)c->runtime.internetworking_model));
    add_bool(o, "DisableNewNetNs", c->runtime.disable_new_netns);
    add_bool(o, "SandboxCgroupOnly", c->runtime.sandbox_cgroup_only);
    add_bool(o, "StaticSandboxResourceMgmt", c->runtime.static_sandbox_resource_mgmt);
    add_bool(o, "DisableGuestSeccomp", c->runtime.disable_guest_seccomp);
    return o;
}

static json_object *hypervisor_section(const struct cfg *c, const struct host_facts *h)
{
    const struct cfg_hypervisor *hv = &c->hv;
    json_object *o = json_object_new_object();
    char version[160] = "";
    if (hostcheck_binary_version(hv->path, 2000, version, sizeof(version)) < 0)
        version[0] = '\0';
    add_str(o, "Kind", cfg_enum_name(CFG_ENUM_HV_KIND, (int)hv->kind));
    add_str(o, "Path", hv->path);
    add_str(o, "Version", version);
    add_str(o, "MachineType", cfg_enum_name(CFG_ENUM_MACHINE, (int)hv->machine_type));
    add_str(o, "Accel", cfg_enum_name(CFG_ENUM_ACCEL, (int)hv->accel));
    add_str(o, "AccelChosen",
            h->accel_r < 0 || hv->kind == CFG_HV_MOCK ? "none"
                                                      : cfg_enum_name(CFG_ENUM_ACCEL, (int)h->accel));
    add_str(o, "AccelReason", h->accel_why);
    add_int(o, "DefaultVCPUs", hv->default_vcpus);
    add_int(o, "DefaultMaxVCPUs", hv->default_maxvcpus);
    add_int(o, "DefaultMemory", hv->default_memory);
    add_int(o, "MemorySlots", hv->memory_slots);
    add_str(o, "BlockDeviceDriver", cfg_enum_name(CFG_ENUM_BLOCK_DRIVER, (int)hv->block_device_driver));
    add_str(o, "EntropySource", hv->entropy_source);
    add_str(o, "SharedFS", cfg_enum_name(CFG_ENUM_SHARED_FS, (int)hv->shared_fs));
    add_str(o, "VirtioFSDaemon", hv->virtio_fs_daemon);
    add_str(o, "VirtioFSCache", cfg_enum_name(CFG_ENUM_VIRTIO_FS_CACHE, (int)hv->virtio_fs_cache));
    add_int(o, "Msize9p", hv->msize_9p);
    add_str(o, "HotPlugVFIO", cfg_enum_name(CFG_ENUM_VFIO_PORT, (int)hv->hot_plug_vfio));
    add_str(o, "ColdPlugVFIO", cfg_enum_name(CFG_ENUM_VFIO_PORT, (int)hv->cold_plug_vfio));
    add_int(o, "PCIeRootPort", hv->pcie_root_port);
    add_bool(o, "Debug", hv->enable_debug);
    add_strv(o, "EnableAnnotations", hv->enable_annotations);
    return o;
}

static json_object *agent_section(const struct cfg *c, const struct host_facts *h)
{
    json_object *o = json_object_new_object();
    add_str(o, "Transport", cfg_enum_name(CFG_ENUM_TRANSPORT, (int)c->agent.transport));
    add_str(o, "TransportChosen", h->channel_r < 0 ? "none" : hostcheck_channel_name(h->channel));
    add_str(o, "TransportReason", h->channel_why);
    add_bool(o, "Debug", c->agent.enable_debug);
    add_bool(o, "Trace", c->agent.enable_tracing);
    add_int(o, "DialTimeout", c->agent.dial_timeout);
    add_strv(o, "KernelModules", c->agent.kernel_modules);
    return o;
}

static json_object *host_section(const struct host_facts *h)
{
    json_object *o = json_object_new_object();
    add_str(o, "Kernel", h->uts.release);
    add_str(o, "Architecture", h->uts.machine);
    json_object *d = add_obj(o, "Distro");
    add_str(d, "Name", h->distro_name);
    add_str(d, "Version", h->distro_version);
    json_object *cpu = add_obj(o, "CPU");
    add_str(cpu, "Vendor", h->cpu.vendor);
    add_str(cpu, "Model", h->cpu.model);
    add_int(cpu, "CPUs", h->cpu.cpus);
    json_object *flags = add_obj(cpu, "Flags");
    add_bool(flags, "vmx", h->cpu.vmx);
    add_bool(flags, "svm", h->cpu.svm);
    add_bool(flags, "lm", h->cpu.lm);
    add_bool(flags, "sse4_1", h->cpu.sse4_1);
    add_bool(flags, "hypervisor", h->cpu.hypervisor);
    json_object *mem = add_obj(o, "Memory");
    add_int(mem, "TotalKiB", h->mem_total_kib);
    json_object *kvm = add_obj(o, "KVM");
    add_bool(kvm, "Present", h->kvm.state != HOSTCHECK_KVM_ABSENT);
    add_bool(kvm, "Usable", h->kvm.state == HOSTCHECK_KVM_USABLE);
    add_str(kvm, "State", hostcheck_kvm_state_name(h->kvm.state));
    add_str(kvm, "Detail", h->kvm.detail);
    /* upstream's meaning: hardware virtualization is usable */
    add_bool(o, "VMContainerCapable", h->kvm.state == HOSTCHECK_KVM_USABLE);
    add_bool(o, "SupportVSocks", h->vhost_vsock);
    add_bool(o, "VhostNet", h->vhost_net);
    return o;
}

static json_object *build(const struct conf *rc, const struct host_facts *h)
{
    const struct cfg *c = rc->cfg;
    json_object *root = json_object_new_object();
    add_str(add_obj(root, "Meta"), "Version", ENV_FORMAT_VERSION);
    json_object_object_add(root, "Runtime", runtime_section(rc));
    json_object_object_add(root, "Hypervisor", hypervisor_section(c, h));
    json_object *k = add_obj(root, "Kernel");
    add_str(k, "Path", c->hv.kernel);
    add_str(k, "Parameters", c->hv.kernel_params);
    add_str(add_obj(root, "Initrd"), "Path", c->hv.initrd);
    add_str(add_obj(root, "Image"), "Path", c->hv.image);
    json_object_object_add(root, "Agent", agent_section(c, h));
    json_object_object_add(root, "Host", host_section(h));
    return root;
}

/* TOML-like rendering: scalars of a table first, then its sub-tables. */
static void print_text(json_object *table, const char *prefix, int *sections)
{
    if (prefix[0])
        printf("%s[%s]\n", (*sections)++ ? "\n" : "", prefix);
    json_object_object_foreach(table, key, val)
    {
        if (json_object_is_type(val, json_type_object))
            continue;
        const char *s = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
        printf("  %s = %s\n", key, s);
    }
    json_object_object_foreach(table, subkey, subval)
    {
        if (!json_object_is_type(subval, json_type_object))
            continue;
        char name[256];
        snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", subkey);
        print_text(subval, name, sections);
    }
}

int env_run(const struct conf *rc, bool json)
{
    struct host_facts h;
    host_facts_collect(rc->cfg, &h);
    json_object *root = build(rc, &h);
    if (json)
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_SPACED |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
    else {
        int sections = 0;
        print_text(root, "", &sections);
    }
    json_object_put(root);
    return fflush(stdout) == 0 ? 0 : 1;
}
