/* A circular, intrusive, doubly linked list for the agent's objects
 * (containers, processes, parked long-poll requests). Header only, no
 * allocation, no locking: every list lives on the loop thread. A node that
 * is not on a list points at itself, so list_unlink() is always safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct list_node {
    struct list_node *prev, *next;
};

static inline void list_init(struct list_node *n)
{
    n->prev = n->next = n;
}

static inline bool list_empty(const struct list_node *head)
{
    return head->next == head;
}

static inline void list_append(struct list_node *head, struct list_node *n)
{
    n->prev = head->prev;
    n->next = head;
    head->prev->next = n;
    head->prev = n;
}

static inline void list_unlink(struct list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    list_init(n);
}

static inline struct list_node *list_pop(struct list_node *head)
{
    struct list_node *n = head->next;
    if (n == head)
        return NULL;
    list_unlink(n);
    return n;
}

/* Through void *: clang -Wcast-align; the member really is in a `type`. */
#define list_entry(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
/* Safe against unlinking the current node. */
#define list_for_each_safe(pos, tmp, head)                                                         \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)
