/* gRPC status code names and the project's errno <-> code mapping. */
#include <errno.h>

#include "lib/compiler.h"
#include "lib/ttrpc/ttrpc.h"

static const char *const code_names[] = {
    [TTRPC_OK] = "OK",
    [TTRPC_CANCELLED] = "CANCELLED",
    [TTRPC_UNKNOWN] = "UNKNOWN",
    [TTRPC_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [TTRPC_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
    [TTRPC_NOT_FOUND] = "NOT_FOUND",
    [TTRPC_ALREADY_EXISTS] = "ALREADY_EXISTS",
    [TTRPC_PERMISSION_DENIED] = "PERMISSION_DENIED",
    [TTRPC_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
    [TTRPC_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
    [TTRPC_ABORTED] = "ABORTED",
    [TTRPC_OUT_OF_RANGE] = "OUT_OF_RANGE",
    [TTRPC_UNIMPLEMENTED] = "UNIMPLEMENTED",
    [TTRPC_INTERNAL] = "INTERNAL",
    [TTRPC_UNAVAILABLE] = "UNAVAILABLE",
    [TTRPC_DATA_LOSS] = "DATA_LOSS",
    [TTRPC_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

const char *ttrpc_code_name(int code)
{
    if (code < 0 || (size_t)code >= ELEMENTSOF(code_names))
        return "UNKNOWN";
    return code_names[code];
}

/* By code, never by message text (STYLE.md, Errors). */
int ttrpc_code_from_errno(int negative_errno)
{
    switch (-negative_errno) {
    case 0:
        return TTRPC_OK;
    case ENOENT:
    case ESRCH:
        return TTRPC_NOT_FOUND;
    case EEXIST:
        return TTRPC_ALREADY_EXISTS;
    case EINVAL:
    case EBADMSG:
    case E2BIG:
        return TTRPC_INVALID_ARGUMENT;
    case ENOTSUP:
    case ENOSYS:
        return TTRPC_UNIMPLEMENTED;
    case ETIMEDOUT:
        return TTRPC_DEADLINE_EXCEEDED;
    case ECANCELED:
        return TTRPC_CANCELLED;
    case EPERM:
    case EACCES:
        return TTRPC_PERMISSION_DENIED;
    case EBUSY:
        return TTRPC_FAILED_PRECONDITION;
    case ENOBUFS:
    case EMSGSIZE:
    case ENOSPC:
    case EMFILE:
        return TTRPC_RESOURCE_EXHAUSTED;
    case EPIPE:
    case ECONNRESET:
    case ECONNREFUSED:
    case ENOTCONN:
        return TTRPC_UNAVAILABLE;
    case ERANGE:
        return TTRPC_OUT_OF_RANGE;
    default:
        return TTRPC_INTERNAL;
    }
}

int ttrpc_errno_from_code(int code)
{
    switch (code) {
    case TTRPC_OK:
        return 0;
    case TTRPC_CANCELLED:
        return -ECANCELED;
    case TTRPC_INVALID_ARGUMENT:
        return -EINVAL;
    case TTRPC_DEADLINE_EXCEEDED:
        return -ETIMEDOUT;
    case TTRPC_NOT_FOUND:
        return -ENOENT;
    case TTRPC_ALREADY_EXISTS:
        return -EEXIST;
    case TTRPC_PERMISSION_DENIED:
    case TTRPC_UNAUTHENTICATED:
        return -EPERM;
    case TTRPC_RESOURCE_EXHAUSTED:
        return -ENOBUFS;
    case TTRPC_FAILED_PRECONDITION:
    case TTRPC_ABORTED:
        return -EBUSY;
    case TTRPC_OUT_OF_RANGE:
        return -ERANGE;
    case TTRPC_UNIMPLEMENTED:
        return -ENOTSUP;
    case TTRPC_UNAVAILABLE:
        return -EPIPE;
    default:
        return -EIO;
    }
}
