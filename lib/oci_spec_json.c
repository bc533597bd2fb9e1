/* OCI config.json <-> grpc.Spec through pbjson with a rename table; see
 * oci_spec_json.h. The tables list, per oci.proto message, the runtime-spec
 * JSON key of each field in the spec's order, with PBJSON_FIELD_ALWAYS on
 * the keys the spec marks REQUIRED. */
#include "lib/oci_spec_json.h"

#include <json-c/json.h>
#include <string.h>

#include "lib/err.h"
#include "lib/pbjson.h"

#define A PBJSON_FIELD_ALWAYS
#define RENAME(desc, table)                                                                        \
    {                                                                                              \
        &(desc), (table), ELEMENTSOF(table)                                                        \
    }

static const struct pbjson_name spec_names[] = {
    {"ociVersion", "Version", A},      {"process", "Process", 0}, {"root", "Root", 0},
    {"hostname", "Hostname", 0},       {"mounts", "Mounts", 0},   {"hooks", "Hooks", 0},
    {"annotations", "Annotations", 0}, {"linux", "Linux_", 0},
};

static const struct pbjson_name process_names[] = {
    {"terminal", "Terminal", 0},
    {"consoleSize", "ConsoleSize", 0},
    {"user", "User", 0},
    {"args", "Args", 0},
    {"env", "Env", 0},
    {"cwd", "Cwd", A},
    {"capabilities", "Capabilities", 0},
    {"rlimits", "Rlimits", 0},
    {"noNewPrivileges", "NoNewPrivileges", 0},
    {"apparmorProfile", "ApparmorProfile", 0},
    {"oomScoreAdj", "OOMScoreAdj", 0},
    {"selinuxLabel", "SelinuxLabel", 0},
};

static const struct pbjson_name box_names[] = {{"height", "Height", A}, {"width", "Width", A}};

static const struct pbjson_name user_names[] = {
    {"uid", "UID", A},
    {"gid", "GID", A},
    {"additionalGids", "AdditionalGids", 0},
    {"username", "Username", 0},
};

static const struct pbjson_name capabilities_names[] = {
    {"bounding", "Bounding", 0},   {"effective", "Effective", 0}, {"inheritable", "Inheritable", 0},
    {"permitted", "Permitted", 0}, {"ambient", "Ambient", 0},
};

static const struct pbjson_name rlimit_names[] = {
    {"type", "Type", A}, {"hard", "Hard", A}, {"soft", "Soft", A}};

static const struct pbjson_name mount_names[] = {
    {"destination", "destination", A},
    {"type", "type", 0},
    {"source", "source", 0},
    {"options", "options", 0},
};

static const struct pbjson_name root_names[] = {{"path", "Path", A}, {"readonly", "Readonly", 0}};

static const struct pbjson_name hooks_names[] = {
    {"prestart", "Prestart", 0},
    {"createRuntime", "CreateRuntime", 0},
    {"createContainer", "CreateContainer", 0},
    {"startContainer", "StartContainer", 0},
    {"poststart", "Poststart", 0},
    {"poststop", "Poststop", 0},
};

static const struct pbjson_name hook_names[] = {
    {"path", "Path", A}, {"args", "Args", 0}, {"env", "Env", 0}, {"timeout", "Timeout", 0}};

static const struct pbjson_name linux_names[] = {
    {"uidMappings", "UIDMappings", 0},
    {"gidMappings", "GIDMappings", 0},
    {"sysctl", "Sysctl", 0},
    {"resources", "Resources", 0},
    {"cgroupsPath", "CgroupsPath", 0},
    {"namespaces", "Namespaces", 0},
    {"devices", "Devices", 0},
    {"seccomp", "Seccomp", 0},
    {"rootfsPropagation", "RootfsPropagation", 0},
    {"maskedPaths", "MaskedPaths", 0},
    {"readonlyPaths", "ReadonlyPaths", 0},
    {"mountLabel", "MountLabel", 0},
    {"intelRdt", "IntelRdt", 0},
};

static const struct pbjson_name idmapping_names[] = {
    {"containerID", "ContainerID", A}, {"hostID", "HostID", A}, {"size", "Size", A}};

static const struct pbjson_name namespace_names[] = {{"type", "Type", A}, {"path", "Path", 0}};

static const struct pbjson_name device_names[] = {
    {"path", "Path", A},         {"type", "Type", A}, {"major", "Major", A}, {"minor", "Minor", A},
    {"fileMode", "FileMode", 0}, {"uid", "UID", 0},   {"gid", "GID", 0},
};

static const struct pbjson_name resources_names[] = {
    {"devices", "Devices", 0}, {"memory", "Memory", 0},   {"cpu", "CPU", 0},
    {"pids", "Pids", 0},       {"blockIO", "BlockIO", 0}, {"hugepageLimits", "HugepageLimits", 0},
    {"network", "Network", 0},
};

static const struct pbjson_name device_cgroup_names[] = {
    {"allow", "Allow", A}, {"type", "Type", 0},     {"major", "Major", 0},
    {"minor", "Minor", 0}, {"access", "Access", 0},
};

static const struct pbjson_name memory_names[] = {
    {"limit", "Limit", 0},
    {"reservation", "Reservation", 0},
    {"swap", "Swap", 0},
    {"kernel", "Kernel", 0},
    {"kernelTCP", "KernelTCP", 0},
    {"swappiness", "Swappiness", 0},
    {"disableOOMKiller", "DisableOOMKiller", 0},
};

static const struct pbjson_name cpu_names[] = {
    {"shares", "Shares", 0},
    {"quota", "Quota", 0},
    {"period", "Period", 0},
    {"realtimeRuntime", "RealtimeRuntime", 0},
    {"realtimePeriod", "RealtimePeriod", 0},
    {"cpus", "Cpus", 0},
    {"mems", "Mems", 0},
};

static const struct pbjson_name pids_names[] = {{"limit", "Limit", A}};

static const struct pbjson_name blockio_names[] = {
    {"weight", "Weight", 0},
    {"leafWeight", "LeafWeight", 0},
    {"weightDevice", "WeightDevice", 0},
    {"throttleReadBpsDevice", "ThrottleReadBpsDevice", 0},
    {"throttleWriteBpsDevice", "ThrottleWriteBpsDevice", 0},
    {"throttleReadIOPSDevice", "ThrottleReadIOPSDevice", 0},
    {"throttleWriteIOPSDevice", "ThrottleWriteIOPSDevice", 0},
};

static const struct pbjson_name weight_device_names[] = {{"major", "Major", A},
                                                         {"minor", "Minor", A},
                                                         {"weight", "Weight", 0},
                                                         {"leafWeight", "LeafWeight", 0}};

static const struct pbjson_name throttle_device_names[] = {
    {"major", "Major", A}, {"minor", "Minor", A}, {"rate", "Rate", A}};

static const struct pbjson_name hugepage_names[] = {{"pageSize", "Pagesize", A},
                                                    {"limit", "Limit", A}};

static const struct pbjson_name network_names[] = {{"classID", "ClassID", 0},
                                                   {"priorities", "Priorities", 0}};

static const struct pbjson_name priority_names[] = {{"name", "Name", A},
                                                    {"priority", "Priority", A}};

static const struct pbjson_name seccomp_names[] = {
    {"defaultAction", "DefaultAction", A},
    {"architectures", "Architectures", 0},
    {"flags", "Flags", 0},
    {"syscalls", "Syscalls", 0},
};

static const struct pbjson_name syscall_names[] = {{"names", "Names", A},
                                                   {"action", "Action", A},
                                                   {"errnoRet", "errnoret", 0},
                                                   {"args", "Args", 0}};

static const struct pbjson_name seccomp_arg_names[] = {
    {"index", "Index", A}, {"value", "Value", A}, {"valueTwo", "ValueTwo", 0}, {"op", "Op", A}};

static const struct pbjson_name intel_rdt_names[] = {{"l3CacheSchema", "L3CacheSchema", 0}};

static const struct pbjson_rename oci_renames[] = {
    RENAME(grpc__spec__descriptor, spec_names),
    RENAME(grpc__process__descriptor, process_names),
    RENAME(grpc__box__descriptor, box_names),
    RENAME(grpc__user__descriptor, user_names),
    RENAME(grpc__linux_capabilities__descriptor, capabilities_names),
    RENAME(grpc__posixrlimit__descriptor, rlimit_names),
    RENAME(grpc__mount__descriptor, mount_names),
    RENAME(grpc__root__descriptor, root_names),
    RENAME(grpc__hooks__descriptor, hooks_names),
    RENAME(grpc__hook__descriptor, hook_names),
    RENAME(grpc__linux__descriptor, linux_names),
    RENAME(grpc__linux_idmapping__descriptor, idmapping_names),
    RENAME(grpc__linux_namespace__descriptor, namespace_names),
    RENAME(grpc__linux_device__descriptor, device_names),
    RENAME(grpc__linux_resources__descriptor, resources_names),
    RENAME(grpc__linux_device_cgroup__descriptor, device_cgroup_names),
    RENAME(grpc__linux_memory__descriptor, memory_names),
    RENAME(grpc__linux_cpu__descriptor, cpu_names),
    RENAME(grpc__linux_pids__descriptor, pids_names),
    RENAME(grpc__linux_block_io__descriptor, blockio_names),
    RENAME(grpc__linux_weight_device__descriptor, weight_device_names),
    RENAME(grpc__linux_throttle_device__descriptor, throttle_device_names),
    RENAME(grpc__linux_hugepage_limit__descriptor, hugepage_names),
    RENAME(grpc__linux_network__descriptor, network_names),
    RENAME(grpc__linux_interface_priority__descriptor, priority_names),
    RENAME(grpc__linux_seccomp__descriptor, seccomp_names),
    RENAME(grpc__linux_syscall__descriptor, syscall_names),
    RENAME(grpc__linux_seccomp_arg__descriptor, seccomp_arg_names),
    RENAME(grpc__linux_intel_rdt__descriptor, intel_rdt_names),
};

static const struct pbjson_schema oci_schema = {oci_renames, ELEMENTSOF(oci_renames)};

static const struct pbjson_opts read_opts = {
    .flags = PBJSON_IGNORE_UNKNOWN | PBJSON_STRICT_TYPES,
    .schema = &oci_schema,
};

static const struct pbjson_opts write_opts = {.schema = &oci_schema};

int oci_spec_json_from_json(const struct json_object *obj, Grpc__Spec **ret_spec, struct err *e)
{
    if (!json_object_is_type(obj, json_type_object))
        return err_set(e, -EINVAL, "OCI spec: expected a JSON object");
    ProtobufCMessage *m = pbjson_message_new(&grpc__spec__descriptor);
    int r = pbjson_merge(m, obj, &read_opts, e);
    if (r < 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return r;
    }
    *ret_spec = (Grpc__Spec *)m;
    return 0;
}

int oci_spec_json_parse(const char *text, size_t len, Grpc__Spec **ret_spec, struct err *e)
{
    struct json_object *obj = NULL;
    int r = pbjson_parse(text, len, &obj, e);
    if (r < 0)
        return r;
    r = oci_spec_json_from_json(obj, ret_spec, e);
    json_object_put(obj);
    return r;
}

int oci_spec_json_load(const char *path, Grpc__Spec **ret_spec, struct err *e)
{
    struct json_object *obj = NULL;
    int r = pbjson_parse_file(path, &obj, e);
    if (r < 0)
        return r;
    struct err ce = ERR_INIT;
    r = oci_spec_json_from_json(obj, ret_spec, &ce);
    json_object_put(obj);
    if (r < 0)
        return err_set(e, r, "%s: %s", path, err_msg(&ce));
    return 0;
}

struct json_object *oci_spec_json_to_json(const Grpc__Spec *spec)
{
    return spec ? pbjson_to_json(&spec->base, &write_opts) : NULL;
}

char *oci_spec_json_format(const Grpc__Spec *spec, int json_c_flags)
{
    return pbjson_to_string(spec ? &spec->base : NULL, &write_opts, json_c_flags);
}

Grpc__Spec *oci_spec_json_free(Grpc__Spec *spec)
{
    if (spec)
        protobuf_c_message_free_unpacked(&spec->base, NULL);
    return NULL;
}
