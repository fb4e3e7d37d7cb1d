/*
 * mycelium._speedups: the send fast path of a local actor ref, and the dispatcher's batch
 * loop (run_batch, further down), in C.
 *
 * MailboxCore holds the five fields the fast path reads (the queue, the limit, the set of
 * accepted message classes, the dispatcher and the "scheduled" flag) and implements
 * try_send. It behaves exactly like the pure-Python MailboxCore in _core.py, which is the
 * reference: the fast path is taken only when the message's exact class is in `accepts`,
 * len(queue) < limit and the caller runs on the dispatcher's thread; everything else (first
 * message, full, senders waiting, closed, unknown class, another thread) goes to the Python
 * method `put_nowait` (or `_send_slow`) of the subclass, which raises the right error.
 * A failed wake-up (the loop's call_soon raised) leaves nothing behind: the message is taken
 * back out of the queue and schedule() restores the flags. The intended differences from the
 * Python build are listed in _core.py's docstring.
 *
 * Invariants (kept by the Python subclasses that assign these fields):
 *   - limit > 0 implies queue is a collections.deque;
 *   - scheduled is true whenever the queue is non-empty.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>
#include <time.h>
#ifdef _WIN32
#include <windows.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

typedef struct {
    PyObject_HEAD
    PyObject *queue;
    PyObject *accepts;
    PyObject *dispatcher;
    Py_ssize_t limit;
    char scheduled;
} CoreObject;

/* DispatcherCore: the fields of a dispatcher that scheduling touches (see _core.py). */
typedef struct {
    PyObject_HEAD
    PyObject *ready;      /* deque of cells waiting to run */
    PyObject *call_soon;  /* the loop's call_soon */
    PyObject *run_handle; /* the dispatcher's bound _run */
    unsigned long thread; /* PyThread_get_thread_ident() of the loop's thread */
    PyObject *thread_id;  /* the same, as the int that `thread_id` returns (made once) */
    void *thread_mark;    /* THREAD_MARK() of that thread (NULL: not known, no fast path) */
    char pending;         /* a _run is scheduled or running */
    char wake_inline;     /* a send that wakes an idle actor may run it when awaited */
    char inline_free;     /* the run in progress has run no nested one yet: its first is not
                           * held to the budget (a chain reaches the depth cap; a loop does not) */
    /* Inline runs (Dispatcher.run_inline; the fast path of an awaited send that woke an idle
     * actor is here, in woken_run): */
    int inline_sent;           /* awaited sends from outside the runtime run inline this turn */
    Py_ssize_t inline_depth;   /* how deep inline runs nest now */
    Py_ssize_t inline_cap;     /* MAX_INLINE_DEPTH */
    double inline_deadline;    /* when this loop iteration's inline budget ends; 0.0: unset */
    double inline_budget;      /* turn_budget_s */
    PyObject *running;         /* the actor whose handler runs now (None) */
    PyObject *inline_tasks;    /* list: the standby task of each depth (or None) */
    PyObject *inline_contexts; /* list: the empty context of each depth (or None) */
    PyObject *current_tasks;   /* asyncio's dict of current tasks (None: not usable) */
    PyObject *inline_loop;     /* the loop (the key of current_tasks) */
    PyObject *ask_type;        /* local_ref.Ask */
    PyObject *loop_turned;     /* the bound _loop_turned, call_soon'd to reset the budget */
} DispatcherCoreObject;

/* THREAD_MARK(): a value that identifies the calling thread, for the fast path's check that
 * it runs on the dispatcher's thread. With glibc, the address of a one-byte thread-local
 * (initial-exec model: one instruction, where PyThread_get_thread_ident() costs two calls,
 * ~2 ns per send); elsewhere the thread ident itself. */
#if defined(__GNUC__) && defined(__GLIBC__)
static __thread char thread_marker __attribute__((tls_model("initial-exec")));
#define THREAD_MARK() ((void *)&thread_marker)
#else
#define THREAD_MARK() ((void *)PyThread_get_thread_ident())
#endif

static PyTypeObject *core_type_ptr = NULL;       /* MailboxCore */
static PyTypeObject *dispatcher_type_ptr = NULL; /* DispatcherCore */
static PyTypeObject *known_dispatcher_type = NULL; /* the last DispatcherCore subtype seen */

/* 1 if d is a DispatcherCore (whose fields the fast path reads directly), else 0. The type of
 * the last one seen is kept (a strong reference), so the common case is one comparison. */
static inline int
is_core_dispatcher(PyObject *d)
{
    PyTypeObject *tp = Py_TYPE(d);
    if (tp == known_dispatcher_type) {
        return 1;
    }
    if (!PyObject_TypeCheck(d, dispatcher_type_ptr)) {
        return 0;
    }
    Py_XSETREF(known_dispatcher_type, (PyTypeObject *)Py_NewRef(tp));
    return 1;
}
static int dispatcher_schedule(DispatcherCoreObject *d, PyObject *cell);

static PyObject *deque_type = NULL;   /* collections.deque */
static PyObject *deque_append = NULL; /* collections.deque.append (a method descriptor) */
static PyObject *deque_popleft = NULL; /* collections.deque.popleft (a method descriptor) */
static PyObject *deque_pop = NULL;     /* collections.deque.pop (a method descriptor) */
static PyObject *str_put_nowait = NULL;
static PyObject *str_schedule = NULL;
static PyObject *str_send_slow = NULL;
static PyObject *ready_awaitable = NULL; /* the shared, completed awaitable returned by send */

/* Ready: an awaitable that is already complete. `await ready` evaluates to None at once.
 * It holds no state, so one instance is shared by every send. */
typedef struct {
    PyObject_HEAD
} ReadyObject;

static PyObject *
ready_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *
ready_iternext(PyObject *self)
{
    return NULL; /* exhausted at once, no exception set: the await yields None */
}

static PySendResult
ready_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    *result = Py_NewRef(Py_None); /* complete at once: the await evaluates to None */
    return PYGEN_RETURN;
}

static PyObject *
ready_send(PyObject *self, PyObject *arg)
{
    PyErr_SetNone(PyExc_StopIteration);
    return NULL;
}

/* throw(typ[, val[, tb]]): a finished coroutine raises what is thrown into it. */
static PyObject *
ready_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return NULL;
    }
    PyObject *typ = args[0];
    PyObject *val = nargs > 1 && args[1] != Py_None ? args[1] : NULL;
    if (PyExceptionInstance_Check(typ)) {
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    }
    else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, val);
    }
    else {
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must be classes or instances deriving from BaseException");
    }
    return NULL;
}

static PyObject *
ready_close(PyObject *self, PyObject *unused)
{
    Py_RETURN_NONE;
}

/* send, throw and close (with __await__) make it a collections.abc.Coroutine, so that
 * asyncio.create_task and TaskGroup.create_task take it like ensure_future does. */
static PyMethodDef ready_methods[] = {
    {"send", (PyCFunction)ready_send, METH_O, NULL},
    {"throw", (PyCFunction)(void (*)(void))ready_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)ready_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot ready_slots[] = {
    {Py_tp_doc, "A coroutine that is already complete (await gives None); shared."},
    {Py_am_await, ready_await},
    {Py_am_send, ready_am_send},
    {Py_tp_iter, ready_await},
    {Py_tp_iternext, ready_iternext},
    {Py_tp_methods, ready_methods},
    {0, NULL},
};

static PyType_Spec ready_spec = {
    .name = "mycelium._speedups.Ready",
    .basicsize = sizeof(ReadyObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = ready_slots,
};


/* WokenSend: what send returns when its message woke an idle actor while the dispatcher's
 * wake_inline was set. Awaiting it (its first step) calls cell.dispatcher.run_woken(cell) once,
 * then it is complete (None); throw raises what is thrown, close forgets the cell. The Python
 * twin is PyWokenSend in _core.py. */
typedef struct {
    PyObject_HEAD
    PyObject *cell; /* NULL once run, thrown into or closed */
} WokenObject;

static PyObject *woken_type = NULL;
static PyObject *str_run_woken = NULL;
static PyObject *str_cut = NULL, *str_waiters = NULL, *str_state = NULL, *str_actor = NULL,
                *str_handle = NULL, *str_handled = NULL, *str_after_run = NULL,
                *str_run_inline = NULL;

static PyObject *
woken_new(PyObject *cell)
{
    WokenObject *self = PyObject_GC_New(WokenObject, (PyTypeObject *)woken_type);
    if (self == NULL) {
        return NULL;
    }
    self->cell = Py_NewRef(cell);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int woken_fast(DispatcherCoreObject *d, CoreObject *cell); /* below, with run_first */

/* dispatcher.INLINE_SENDS_PER_TURN (test_inline checks that they agree). */
#define INLINE_SENDS_PER_TURN 2

/* Run it once: 0, or -1 with the error of run_woken. */
static int
woken_run(WokenObject *self)
{
    PyObject *cell = self->cell;
    if (cell == NULL) {
        return 0;
    }
    self->cell = NULL;
    PyObject *dispatcher = ((CoreObject *)cell)->dispatcher;
    if (dispatcher == NULL) {
        Py_DECREF(cell);
        return 0;
    }
    Py_INCREF(dispatcher);
    PyObject *res = NULL;
    int fast = is_core_dispatcher(dispatcher)
                   ? woken_fast((DispatcherCoreObject *)dispatcher, (CoreObject *)cell)
                   : 0;
    if (fast == 0) {
        res = PyObject_CallMethodOneArg(dispatcher, str_run_woken, cell);
    }
    else if (fast > 0) { /* ran it, or (2) run_woken would decline at once */
        res = Py_NewRef(Py_None);
    }
    Py_DECREF(dispatcher);
    Py_DECREF(cell);
    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    return 0;
}

static PyObject *
woken_iternext(PyObject *self)
{
    woken_run((WokenObject *)self);
    return NULL; /* complete (no exception set), or the error */
}

static PySendResult
woken_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    if (woken_run((WokenObject *)self) < 0) {
        *result = NULL;
        return PYGEN_ERROR;
    }
    *result = Py_NewRef(Py_None);
    return PYGEN_RETURN;
}

static PyObject *
woken_send(PyObject *self, PyObject *arg)
{
    if (woken_run((WokenObject *)self) < 0) {
        return NULL;
    }
    PyErr_SetNone(PyExc_StopIteration);
    return NULL;
}

static PyObject *
woken_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_CLEAR(((WokenObject *)self)->cell);
    return ready_throw(self, args, nargs);
}

static PyObject *
woken_close(PyObject *self, PyObject *unused)
{
    Py_CLEAR(((WokenObject *)self)->cell);
    Py_RETURN_NONE;
}

static int
woken_traverse(WokenObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->cell);
    return 0;
}

static int
woken_clear(WokenObject *self)
{
    Py_CLEAR(self->cell);
    return 0;
}

static void
woken_dealloc(WokenObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    woken_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* WokenSend(cell): as send makes it (the slow path makes one too). */
static PyObject *
woken_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *cell;
    if (kwds != NULL && PyDict_GET_SIZE(kwds) != 0) {
        PyErr_SetString(PyExc_TypeError, "WokenSend() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "WokenSend", 1, 1, &cell)) {
        return NULL;
    }
    if (!PyObject_TypeCheck(cell, core_type_ptr)) {
        PyErr_SetString(PyExc_TypeError, "WokenSend() needs a MailboxCore");
        return NULL;
    }
    return woken_new(cell);
}

static PyMethodDef woken_methods[] = {
    {"send", (PyCFunction)woken_send, METH_O, NULL},
    {"throw", (PyCFunction)(void (*)(void))woken_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)woken_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot woken_slots[] = {
    {Py_tp_doc, "What send returns when it woke an idle actor: awaiting it may run the "
                "actor's handler at once (Dispatcher.run_woken); then complete (None)."},
    {Py_am_await, ready_await},
    {Py_am_send, woken_am_send},
    {Py_tp_iter, ready_await},
    {Py_tp_iternext, woken_iternext},
    {Py_tp_methods, woken_methods},
    {Py_tp_traverse, woken_traverse},
    {Py_tp_clear, woken_clear},
    {Py_tp_dealloc, woken_dealloc},
    {Py_tp_new, woken_tp_new},
    {0, NULL},
};

static PyType_Spec woken_spec = {
    .name = "mycelium._speedups.WokenSend",
    .basicsize = sizeof(WokenObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = woken_slots,
};

static int
core_traverse(CoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->queue);
    Py_VISIT(self->accepts);
    Py_VISIT(self->dispatcher);
    return 0;
}

static int
core_clear(CoreObject *self)
{
    Py_CLEAR(self->queue);
    Py_CLEAR(self->accepts);
    Py_CLEAR(self->dispatcher);
    return 0;
}

static void
core_dealloc(CoreObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    core_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The fast path: 1 if msg was appended (and the actor scheduled if needed), 0 if the caller
 * must take the slow path, -1 on error. */
static inline int
core_fast_put(CoreObject *self, PyObject *msg)
{
    PyObject *queue = self->queue;
    PyObject *accepts = self->accepts;
    PyObject *dispatcher = self->dispatcher;
    if (queue == NULL || accepts == NULL || self->limit <= 0 ||
        (PyObject *)Py_TYPE(queue) != deque_type || dispatcher == NULL ||
        !is_core_dispatcher(dispatcher) ||
        ((DispatcherCoreObject *)dispatcher)->thread_mark != THREAD_MARK()) {
        return 0;
    }
    /* Hashing the message's class may run Python code (a metaclass __hash__) that could
     * replace these fields: hold our own references while we use them. */
    Py_INCREF(queue);
    Py_INCREF(accepts);
    int done = 0;
    int known = PySet_Contains(accepts, (PyObject *)Py_TYPE(msg));
    if (known < 0) {
        done = -1;
    }
    else if (known) {
        Py_ssize_t size = PyObject_Size(queue);
        if (size < 0) {
            done = -1;
        }
        else if (size < self->limit) {
            PyObject *args[2] = {queue, msg};
            PyObject *res = PyObject_Vectorcall(deque_append, args, 2, NULL);
            if (res == NULL) {
                done = -1;
            }
            else {
                Py_DECREF(res);
                done = 1;
            }
        }
    }
    Py_DECREF(accepts);
    if (done == 1 && !self->scheduled) {
        dispatcher = self->dispatcher; /* again: hashing the class may have replaced it */
        int failed;
        if (dispatcher == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "actor has no dispatcher");
            failed = 1;
        }
        else {
            Py_INCREF(dispatcher);
            if (is_core_dispatcher(dispatcher)) {
                failed = dispatcher_schedule((DispatcherCoreObject *)dispatcher,
                                             (PyObject *)self) < 0;
            }
            else {
                PyObject *res =
                    PyObject_CallMethodOneArg(dispatcher, str_schedule, (PyObject *)self);
                failed = res == NULL;
                Py_XDECREF(res);
            }
            Py_DECREF(dispatcher);
        }
        if (failed) {
            /* The actor could not be woken: take the message back out, keep the error. */
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyObject *res = PyObject_Vectorcall(deque_pop, &queue, 1, NULL);
            Py_XDECREF(res);
            Py_DECREF(queue);
            if (res == NULL) {
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(tb);
                return -1; /* the pop's own error */
            }
            PyErr_Restore(type, value, tb);
            return -1;
        }
    }
    Py_DECREF(queue);
    return done;
}

static PyObject *
core_try_send(CoreObject *self, PyObject *msg)
{
    int done = core_fast_put(self, msg);
    if (done < 0) {
        return NULL;
    }
    if (done) {
        Py_RETURN_NONE;
    }
    return PyObject_CallMethodOneArg((PyObject *)self, str_put_nowait, msg);
}

static PyObject *
core_send(CoreObject *self, PyObject *msg)
{
    int was_idle = !self->scheduled;
    int done = core_fast_put(self, msg);
    if (done < 0) {
        return NULL;
    }
    if (done) {
        /* It woke the actor while the dispatcher lets an awaited send run it: a WokenSend. */
        PyObject *dispatcher = self->dispatcher;
        if (was_idle && dispatcher != NULL && is_core_dispatcher(dispatcher) &&
            ((DispatcherCoreObject *)dispatcher)->wake_inline) {
            return woken_new((PyObject *)self);
        }
        return Py_NewRef(ready_awaitable);
    }
    return PyObject_CallMethodOneArg((PyObject *)self, str_send_slow, msg);
}

static PyMethodDef core_methods[] = {
    {"try_send", (PyCFunction)core_try_send, METH_O,
     "Deliver msg without waiting (fast path in C; see LocalActorRef.try_send)."},
    {"tell", (PyCFunction)core_try_send, METH_O, "Alias of try_send."},
    {"send", (PyCFunction)core_send, METH_O,
     "Deliver msg now if there is room (returns a completed awaitable), else wait (see "
     "LocalActorRef.send)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef core_members[] = {
    {"_queue", T_OBJECT_EX, offsetof(CoreObject, queue), 0, NULL},
    {"accepts", T_OBJECT_EX, offsetof(CoreObject, accepts), 0, NULL},
    {"dispatcher", T_OBJECT_EX, offsetof(CoreObject, dispatcher), 0, NULL},
    {"_limit", T_PYSSIZET, offsetof(CoreObject, limit), 0, NULL},
    {"scheduled", T_BOOL, offsetof(CoreObject, scheduled), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot core_slots[] = {
    {Py_tp_doc, "The fields and the try_send fast path of a local actor ref (C)."},
    {Py_tp_dealloc, core_dealloc},
    {Py_tp_traverse, core_traverse},
    {Py_tp_clear, core_clear},
    {Py_tp_methods, core_methods},
    {Py_tp_members, core_members},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec core_spec = {
    .name = "mycelium._speedups.MailboxCore",
    .basicsize = sizeof(CoreObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = core_slots,
};


/* ------------------------------------------------------------------------------------------
 * DispatcherCore: schedule(cell) in C, so that the C send path wakes an idle actor without a
 * Python call. Behaves like PyDispatcherCore.schedule in _core.py (the reference).
 */
static int
dispatcher_schedule(DispatcherCoreObject *d, PyObject *cell)
{
    if (d->ready == NULL || (PyObject *)Py_TYPE(d->ready) != deque_type || d->call_soon == NULL ||
        d->run_handle == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "dispatcher is not initialised");
        return -1;
    }
    int is_core = PyObject_TypeCheck(cell, core_type_ptr);
    if (is_core) {
        ((CoreObject *)cell)->scheduled = 1;
    }
    else if (PyObject_SetAttrString(cell, "scheduled", Py_True) < 0) {
        return -1;
    }
    PyObject *ready = Py_NewRef(d->ready);
    PyObject *args[2] = {ready, cell};
    PyObject *res = PyObject_Vectorcall(deque_append, args, 2, NULL);
    if (res == NULL) {
        Py_DECREF(ready);
        return -1;
    }
    Py_DECREF(res);
    if (!d->pending) {
        d->pending = 1;
        res = PyObject_CallOneArg(d->call_soon, d->run_handle);
        if (res == NULL) {
            /* No run will come: undo everything (as PyDispatcherCore.schedule does). */
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            d->pending = 0;
            PyObject *popped = PyObject_Vectorcall(deque_pop, &ready, 1, NULL);
            Py_XDECREF(popped);
            if (popped == NULL) {
                PyErr_Clear();
            }
            if (is_core) {
                ((CoreObject *)cell)->scheduled = 0;
            }
            else if (PyObject_SetAttrString(cell, "scheduled", Py_False) < 0) {
                PyErr_Clear();
            }
            PyErr_Restore(type, value, tb);
            Py_DECREF(ready);
            return -1;
        }
        Py_DECREF(res);
    }
    Py_DECREF(ready);
    return 0;
}

static PyObject *
dispatcher_schedule_py(DispatcherCoreObject *self, PyObject *cell)
{
    if (dispatcher_schedule(self, cell) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
dispatcher_traverse(DispatcherCoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->ready);
    Py_VISIT(self->call_soon);
    Py_VISIT(self->run_handle);
    Py_VISIT(self->running);
    Py_VISIT(self->inline_tasks);
    Py_VISIT(self->inline_contexts);
    Py_VISIT(self->current_tasks);
    Py_VISIT(self->inline_loop);
    Py_VISIT(self->ask_type);
    Py_VISIT(self->loop_turned);
    return 0;
}

static int
dispatcher_clear(DispatcherCoreObject *self)
{
    Py_CLEAR(self->ready);
    Py_CLEAR(self->call_soon);
    Py_CLEAR(self->run_handle);
    Py_CLEAR(self->thread_id);
    Py_CLEAR(self->running);
    Py_CLEAR(self->inline_tasks);
    Py_CLEAR(self->inline_contexts);
    Py_CLEAR(self->current_tasks);
    Py_CLEAR(self->inline_loop);
    Py_CLEAR(self->ask_type);
    Py_CLEAR(self->loop_turned);
    return 0;
}

static void
dispatcher_dealloc(DispatcherCoreObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    dispatcher_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef dispatcher_methods[] = {
    {"schedule", (PyCFunction)dispatcher_schedule_py, METH_O,
     "Put cell on the ready queue (precondition: cell.scheduled is False)."},
    {NULL, NULL, 0, NULL},
};

static PyObject *
dispatcher_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *self = PyType_GenericNew(type, args, kwargs);
    if (self == NULL) {
        return NULL;
    }
    DispatcherCoreObject *d = (DispatcherCoreObject *)self;
    d->thread = PyThread_get_thread_ident();
    d->thread_mark = THREAD_MARK();
    d->thread_id = PyLong_FromUnsignedLong(d->thread);
    if (d->thread_id == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
}

static PyObject *
dispatcher_get_thread_id(DispatcherCoreObject *self, void *closure)
{
    if (self->thread_id == NULL) {
        return PyLong_FromUnsignedLong(self->thread);
    }
    return Py_NewRef(self->thread_id);
}

/* Setting thread_id (the send path does, from the thread the loop now runs on) also notes
 * that thread's mark when it is the calling thread; otherwise the fast path stays closed and
 * every send takes the slow path, which checks the thread in Python. */
static int
dispatcher_set_thread_id(DispatcherCoreObject *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "thread_id cannot be deleted");
        return -1;
    }
    unsigned long thread = PyLong_AsUnsignedLong(value);
    if (thread == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    PyObject *as_int = PyLong_FromUnsignedLong(thread);
    if (as_int == NULL) {
        return -1;
    }
    Py_XSETREF(self->thread_id, as_int);
    self->thread = thread;
    self->thread_mark = thread == PyThread_get_thread_ident() ? THREAD_MARK() : NULL;
    return 0;
}

static PyGetSetDef dispatcher_getset[] = {
    {"thread_id", (getter)dispatcher_get_thread_id, (setter)dispatcher_set_thread_id,
     "threading.get_ident() of the loop's thread (the creator's, until the send path moves it)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef dispatcher_members[] = {
    {"_ready", T_OBJECT_EX, offsetof(DispatcherCoreObject, ready), 0, NULL},
    {"_call_soon", T_OBJECT_EX, offsetof(DispatcherCoreObject, call_soon), 0, NULL},
    {"_run_handle", T_OBJECT_EX, offsetof(DispatcherCoreObject, run_handle), 0, NULL},
    {"_pending", T_BOOL, offsetof(DispatcherCoreObject, pending), 0, NULL},
    {"wake_inline", T_BOOL, offsetof(DispatcherCoreObject, wake_inline), 0, NULL},
    {"_inline_free", T_BOOL, offsetof(DispatcherCoreObject, inline_free), 0, NULL},
    {"_inline_sent", T_INT, offsetof(DispatcherCoreObject, inline_sent), 0, NULL},
    {"_inline_depth", T_PYSSIZET, offsetof(DispatcherCoreObject, inline_depth), 0, NULL},
    {"_inline_cap", T_PYSSIZET, offsetof(DispatcherCoreObject, inline_cap), 0, NULL},
    {"_inline_deadline", T_DOUBLE, offsetof(DispatcherCoreObject, inline_deadline), 0, NULL},
    {"_inline_budget", T_DOUBLE, offsetof(DispatcherCoreObject, inline_budget), 0, NULL},
    {"running", T_OBJECT_EX, offsetof(DispatcherCoreObject, running), 0, NULL},
    {"_inline_tasks", T_OBJECT_EX, offsetof(DispatcherCoreObject, inline_tasks), 0, NULL},
    {"_inline_contexts", T_OBJECT_EX, offsetof(DispatcherCoreObject, inline_contexts), 0, NULL},
    {"_current_tasks", T_OBJECT_EX, offsetof(DispatcherCoreObject, current_tasks), 0, NULL},
    {"_inline_loop", T_OBJECT_EX, offsetof(DispatcherCoreObject, inline_loop), 0, NULL},
    {"_ask_type", T_OBJECT_EX, offsetof(DispatcherCoreObject, ask_type), 0, NULL},
    {"_loop_turned_handle", T_OBJECT_EX, offsetof(DispatcherCoreObject, loop_turned), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot dispatcher_slots[] = {
    {Py_tp_doc, "The scheduling fields and schedule() of a dispatcher (C)."},
    {Py_tp_dealloc, dispatcher_dealloc},
    {Py_tp_traverse, dispatcher_traverse},
    {Py_tp_clear, dispatcher_clear},
    {Py_tp_methods, dispatcher_methods},
    {Py_tp_members, dispatcher_members},
    {Py_tp_getset, dispatcher_getset},
    {Py_tp_new, dispatcher_new},
    {0, NULL},
};

static PyType_Spec dispatcher_spec = {
    .name = "mycelium._speedups.DispatcherCore",
    .basicsize = sizeof(DispatcherCoreObject),
    .itemsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = dispatcher_slots,
};

#ifdef HAVE_TSC
static void tsc_init(void); /* with run_batch, below */
#endif

static int
speedups_exec(PyObject *module)
{
#ifdef HAVE_TSC
    tsc_init();
#endif
    PyObject *collections = PyImport_ImportModule("collections");
    if (collections == NULL) {
        return -1;
    }
    deque_type = PyObject_GetAttrString(collections, "deque");
    Py_DECREF(collections);
    if (deque_type == NULL) {
        return -1;
    }
    deque_append = PyObject_GetAttrString(deque_type, "append");
    if (deque_append == NULL) {
        return -1;
    }
    deque_popleft = PyObject_GetAttrString(deque_type, "popleft");
    if (deque_popleft == NULL) {
        return -1;
    }
    deque_pop = PyObject_GetAttrString(deque_type, "pop");
    if (deque_pop == NULL) {
        return -1;
    }
    str_put_nowait = PyUnicode_InternFromString("put_nowait");
    str_schedule = PyUnicode_InternFromString("schedule");
    str_send_slow = PyUnicode_InternFromString("_send_slow");
    if (str_put_nowait == NULL || str_schedule == NULL || str_send_slow == NULL) {
        return -1;
    }
    PyObject *ready_type = PyType_FromSpec(&ready_spec);
    if (ready_type == NULL) {
        return -1;
    }
    ready_awaitable = PyType_GenericNew((PyTypeObject *)ready_type, NULL, NULL);
    if (ready_awaitable == NULL) {
        Py_DECREF(ready_type);
        return -1;
    }
    if (PyModule_AddObject(module, "Ready", ready_type) < 0) {
        Py_DECREF(ready_type);
        return -1;
    }
    if (PyModule_AddObject(module, "READY", Py_NewRef(ready_awaitable)) < 0) {
        Py_DECREF(ready_awaitable);
        return -1;
    }
    str_run_woken = PyUnicode_InternFromString("run_woken");
    str_cut = PyUnicode_InternFromString("_cut");
    str_waiters = PyUnicode_InternFromString("waiters");
    str_state = PyUnicode_InternFromString("state");
    str_actor = PyUnicode_InternFromString("actor");
    str_handle = PyUnicode_InternFromString("handle");
    str_handled = PyUnicode_InternFromString("handled");
    str_after_run = PyUnicode_InternFromString("_after_run");
    str_run_inline = PyUnicode_InternFromString("run_inline");
    if (str_cut == NULL || str_waiters == NULL || str_state == NULL || str_actor == NULL ||
        str_handle == NULL || str_handled == NULL || str_after_run == NULL ||
        str_run_inline == NULL) {
        return -1;
    }
    woken_type = PyType_FromSpec(&woken_spec);
    if (str_run_woken == NULL || woken_type == NULL) {
        return -1;
    }
    if (PyModule_AddIntConstant(module, "INLINE_SENDS_PER_TURN", INLINE_SENDS_PER_TURN) < 0) {
        return -1;
    }
    if (PyModule_AddObject(module, "WokenSend", Py_NewRef(woken_type)) < 0) {
        Py_DECREF(woken_type);
        return -1;
    }
    PyObject *core_type = PyType_FromSpec(&core_spec);
    if (core_type == NULL) {
        return -1;
    }
    core_type_ptr = (PyTypeObject *)Py_NewRef(core_type); /* kept for type checks */
    if (PyModule_AddObject(module, "MailboxCore", core_type) < 0) {
        Py_DECREF(core_type);
        return -1;
    }
    PyObject *dispatcher_type = PyType_FromSpec(&dispatcher_spec);
    if (dispatcher_type == NULL) {
        return -1;
    }
    dispatcher_type_ptr = (PyTypeObject *)Py_NewRef(dispatcher_type);
    if (PyModule_AddObject(module, "DispatcherCore", dispatcher_type) < 0) {
        Py_DECREF(dispatcher_type);
        return -1;
    }
    return 0;
}


/* ------------------------------------------------------------------------------------------
 * clock(): the monotonic clock of the turn budget, in seconds (the one run_batch reads).
 * CLOCK_MONOTONIC is read through the vDSO on Linux: ~25 ns, no system call.
 */
static inline double
monotonic_s(void)
{
#ifdef _WIN32
    static LARGE_INTEGER frequency = {0};
    LARGE_INTEGER now;
    if (frequency.QuadPart == 0) {
        QueryPerformanceFrequency(&frequency);
    }
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart / (double)frequency.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

static PyObject *
speedups_clock(PyObject *module, PyObject *unused)
{
    return PyFloat_FromDouble(monotonic_s());
}

/* Deadlines, read after every handler. The clock costs ~25 ns a read, a quarter of a trivial
 * handler's run. With an invariant TSC (x86-64), a TSC read (~4 ns) says whether the clock is
 * worth reading: not before half the time left at the last reading has passed, at a TSC rate
 * measured against the clock. The clock alone decides that a deadline has passed; a turn's
 * runs share what was learnt (the TSC count to wait for, kept with its deadline), so a turn
 * reads the clock a dozen times, not once a run. Elsewhere, the clock is read after every
 * handler. */
typedef struct {
    double deadline;
    unsigned long long since; /* the TSC count when `next` was set */
    unsigned long long next;  /* TSC count before which the clock need not be read; 0: read it */
} Deadline;

#ifdef HAVE_TSC
static int tsc_invariant = 0;          /* CPUID says the TSC runs at a constant rate */
static double tsc_anchor_s = 0.0;      /* the clock and the TSC, read together */
static unsigned long long tsc_anchor = 0;
static double tsc_per_s = 0.0;         /* measured TSC rate; 0.0 until measured */
static Deadline tsc_known = {-1.0, 0, 0}; /* the last deadline checked, with what was learnt */

static void
tsc_init(void)
{
    unsigned int a, b, c, d;
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000007 &&
        __get_cpuid(0x80000007, &a, &b, &c, &d)) {
        tsc_invariant = (d >> 8) & 1;
    }
    tsc_anchor_s = monotonic_s();
    tsc_anchor = __rdtsc();
}

/* Measure the TSC rate from the clock `now` and the TSC `count` read with it. */
static inline void
tsc_measure(double now, unsigned long long count)
{
    double span = now - tsc_anchor_s;
    if (count > tsc_anchor && span >= 0.001) {
        tsc_per_s = (double)(count - tsc_anchor) / span;
        if (span >= 1.0) { /* a new anchor each second: the rate follows any change */
            tsc_anchor_s = now;
            tsc_anchor = count;
        }
    }
    else if (count < tsc_anchor) { /* went back (a suspend, another core): start again */
        tsc_anchor_s = now;
        tsc_anchor = count;
    }
}
#endif

static inline void
deadline_start(Deadline *d, double deadline)
{
    d->deadline = deadline;
    d->since = 0;
    d->next = 0;
#ifdef HAVE_TSC
    if (deadline == tsc_known.deadline) {
        *d = tsc_known;
    }
#endif
}

#ifdef HAVE_TSC
/* The clock read `now` (with the TSC `count`) is before the deadline: the next reading can
 * wait until half the time left has passed. */
static inline void
tsc_learn(Deadline *d, double now, unsigned long long count)
{
    tsc_measure(now, count);
    if (tsc_per_s > 0.0) {
        double ticks = (d->deadline - now) * tsc_per_s * 0.5;
        d->since = count;
        d->next = ticks >= 1.8e19 ? ~0ULL : count + (unsigned long long)ticks;
        tsc_known = *d;
    }
}
#endif

/* True once the deadline has passed (read after a handler). */
static inline int
deadline_passed(Deadline *d)
{
#ifdef HAVE_TSC
    if (tsc_invariant) {
        unsigned long long count = __rdtsc();
        if (count < d->next && count >= d->since) { /* (the TSC may go back: a suspend) */
            return 0;
        }
        double now = monotonic_s();
        if (now >= d->deadline) {
            return 1;
        }
        tsc_learn(d, now, count);
        return 0;
    }
#endif
    return monotonic_s() >= d->deadline;
}

/* deadline_after(seconds) -> clock() + seconds, read once: what run_batch learns from that
 * reading is kept for the deadline (a turn's first run need not read the clock again). */
static PyObject *
speedups_deadline_after(PyObject *module, PyObject *arg)
{
    double seconds = PyFloat_AsDouble(arg);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    double now = monotonic_s();
    Deadline d = {now + seconds, 0, 0};
#ifdef HAVE_TSC
    if (tsc_invariant && seconds > 0.0) {
        tsc_learn(&d, now, __rdtsc());
    }
#endif
    return PyFloat_FromDouble(d.deadline);
}

/* ------------------------------------------------------------------------------------------
 * run_batch: the dispatcher's inner loop (see py_run_batch in _core.py, the reference).
 *
 * run_batch(queue, handle, batch, ready, ask_type, task, deadline) -> (done, code, a, b, msg)
 * Handles up to `batch` messages of `queue`: calls handle(msg) and drives the coroutine with
 * PyIter_Send (no task, no StopIteration, no __await__ wrapper for native coroutines). Stops
 * early at a question, a handler that suspends or raises, a handler that kept or changed
 * `task` (its reference count moved; None: not watched), once clock() has reached `deadline`
 * (read on entry and after every handler that finished), or after a handler that made another
 * actor ready (`ready` grew). The codes are those of _core.py; `msg` is the message whose
 * handler suspended or raised (PARKED, RAISED), else None.
 */
enum {
    BATCH_DONE = 0,
    BATCH_HANDOFF = 1,
    BATCH_ASK = 2,
    BATCH_PARKED = 3,
    BATCH_RAISED = 4,
    BATCH_TAINTED = 5,
    BATCH_OVERTIME = 6,
};

/* (done, code, a, b, msg), stealing a, b and msg (NULL means None). */
static PyObject *
batch_outcome(Py_ssize_t done, int code, PyObject *a, PyObject *b, PyObject *msg)
{
    PyObject *result = PyTuple_New(5);
    if (result == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(msg);
        return NULL;
    }
    PyObject *n = PyLong_FromSsize_t(done);
    PyObject *c = PyLong_FromLong(code);
    if (n == NULL || c == NULL) {
        Py_XDECREF(n);
        Py_XDECREF(c);
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(msg);
        Py_DECREF(result);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, n);
    PyTuple_SET_ITEM(result, 1, c);
    PyTuple_SET_ITEM(result, 2, a != NULL ? a : Py_NewRef(Py_None));
    PyTuple_SET_ITEM(result, 3, b != NULL ? b : Py_NewRef(Py_None));
    PyTuple_SET_ITEM(result, 4, msg != NULL ? msg : Py_NewRef(Py_None));
    return result;
}

/* The exception being raised, as an object with its traceback; the error is cleared. */
static PyObject *
take_exception(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value == NULL) {
        value = Py_NewRef(Py_None);
    }
    else if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

static PyObject *
speedups_run_batch(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "run_batch(queue, handle, batch, ready, ask_type, task, deadline)");
        return NULL;
    }
    PyObject *queue = args[0];
    PyObject *handle = args[1];
    PyObject *ready = args[3];
    PyObject *ask_type = args[4];
    PyObject *task = args[5];
    Py_ssize_t batch = PyLong_AsSsize_t(args[2]);
    if (batch == -1 && PyErr_Occurred()) {
        return NULL;
    }
    double deadline_s = PyFloat_AsDouble(args[6]);
    if (deadline_s == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    Deadline deadline;
    deadline_start(&deadline, deadline_s);
    if (deadline_passed(&deadline)) { /* spent by what ran before (a question, say) */
        return batch_outcome(0, BATCH_OVERTIME, NULL, NULL, NULL);
    }
    /* What holds the task now (the caller's references): a handler that returns with more
     * or fewer kept it or changed it. Read once: nothing else runs between handlers. */
    Py_ssize_t held = task == Py_None ? 0 : Py_REFCNT(task);
    if ((PyObject *)Py_TYPE(queue) != deque_type || (PyObject *)Py_TYPE(ready) != deque_type) {
        PyErr_SetString(PyExc_TypeError, "run_batch needs deques for queue and ready");
        return NULL;
    }
    Py_ssize_t before = PyObject_Size(ready);
    if (before < 0) {
        return NULL;
    }
    Py_ssize_t done = 0;
    while (done < batch) {
        Py_ssize_t left = PyObject_Size(queue);
        if (left < 0) {
            return NULL;
        }
        if (left == 0) {
            break;
        }
        PyObject *msg = PyObject_Vectorcall(deque_popleft, &queue, 1, NULL);
        if (msg == NULL) {
            return NULL;
        }
        if ((PyObject *)Py_TYPE(msg) == ask_type) {
            return batch_outcome(done, BATCH_ASK, msg, NULL, NULL);
        }
        /* msg is held until its handler has finished or is handed back (PARKED, RAISED). */
        PyObject *awaitable = PyObject_CallOneArg(handle, msg);
        if (awaitable == NULL) {
            return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
        }
        PyObject *steps;
        if (PyCoro_CheckExact(awaitable)) {
            steps = awaitable;
        }
        else {
            PyAsyncMethods *am = Py_TYPE(awaitable)->tp_as_async;
            if (am == NULL || am->am_await == NULL) {
                /* The class's __name__, as the Python twin says it (tp_name may be dotted). */
                PyObject *name = PyType_GetName(Py_TYPE(awaitable));
                if (name != NULL) {
                    PyErr_Format(PyExc_TypeError, "handle() returned %U, not an awaitable", name);
                    Py_DECREF(name);
                }
                Py_DECREF(awaitable);
                return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
            }
            steps = am->am_await(awaitable);
            Py_DECREF(awaitable);
            if (steps == NULL) {
                return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
            }
        }
        PyObject *yielded = NULL;
        PySendResult sent = PyIter_Send(steps, Py_None, &yielded);
        if (sent == PYGEN_NEXT) {
            return batch_outcome(done, BATCH_PARKED, steps, yielded, msg);
        }
        Py_DECREF(steps);
        if (sent == PYGEN_ERROR) {
            return batch_outcome(done, BATCH_RAISED, take_exception(), NULL, msg);
        }
        Py_DECREF(msg);
        Py_XDECREF(yielded); /* the handler's return value: ignored for a tell */
        done++;
        if (task != Py_None && Py_REFCNT(task) != held) {
            return batch_outcome(done, BATCH_TAINTED, NULL, NULL, NULL);
        }
        if (deadline_passed(&deadline)) {
            return batch_outcome(done, BATCH_OVERTIME, NULL, NULL, NULL);
        }
        Py_ssize_t now = PyObject_Size(ready);
        if (now < 0) {
            return NULL;
        }
        if (now != before) {
            return batch_outcome(done, BATCH_HANDOFF, NULL, NULL, NULL);
        }
    }
    return batch_outcome(done, BATCH_DONE, NULL, NULL, NULL);
}

/* run_first(handle, msg, context, task, loop, tasks) -> (code, a, b): the first step of one
 * handler run inline (Dispatcher._run_here), in `context`, with `task` made the current task
 * of `loop` in `tasks` (asyncio's dict of current tasks; None: the caller swaps tasks itself)
 * and the previous one put back after. Codes as run_batch's: DONE (a: the answer), TAINTED
 * (returned, a: the answer; the task's reference count moved), PARKED (a: the coroutine, b:
 * what it yielded), RAISED (a: the exception). See py_run_first in _core.py. */
/* The first step of handle(msg), in `context`, with `task` as the current task of `loop` in
 * the dict `tasks` (or, with tasks None, whatever the caller made current), the previous one put
 * back after. Sets *code (BATCH_DONE, _TAINTED, _PARKED, _RAISED) and *a, *b (new references
 * or NULL: the answer; the coroutine and what it yielded; the exception). 0, or -1 if the
 * bookkeeping itself failed (an error set, nothing to account for). */
static int
first_step(PyObject *handle, PyObject *msg, PyObject *context, PyObject *task, PyObject *loop,
           PyObject *tasks, int *code, PyObject **a, PyObject **b)
{
    *a = *b = NULL;
    PyObject *outer = NULL;
    if (tasks != Py_None) {
        outer = PyDict_GetItemWithError(tasks, loop);
        if (outer == NULL && PyErr_Occurred()) {
            return -1;
        }
        Py_XINCREF(outer);
        if (PyDict_SetItem(tasks, loop, task) < 0) {
            Py_XDECREF(outer);
            return -1;
        }
    }
    if (PyContext_Enter(context) < 0) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (outer != NULL) {
            PyDict_SetItem(tasks, loop, outer);
        }
        else if (tasks != Py_None) {
            PyDict_DelItem(tasks, loop);
        }
        PyErr_Restore(type, value, tb);
        Py_XDECREF(outer);
        return -1;
    }
    Py_ssize_t held = Py_REFCNT(task);
    PyObject *awaitable = PyObject_CallOneArg(handle, msg);
    PyObject *steps = NULL;
    if (awaitable != NULL) {
        if (PyCoro_CheckExact(awaitable)) {
            steps = awaitable;
        }
        else {
            PyAsyncMethods *am = Py_TYPE(awaitable)->tp_as_async;
            if (am == NULL || am->am_await == NULL) {
                PyErr_Format(PyExc_TypeError, "handle() returned %.100s, not an awaitable",
                             Py_TYPE(awaitable)->tp_name);
            }
            else {
                steps = am->am_await(awaitable);
            }
            Py_DECREF(awaitable);
        }
    }
    if (steps == NULL) {
        *code = BATCH_RAISED;
        *a = take_exception();
    }
    else {
        PyObject *yielded = NULL;
        PySendResult sent = PyIter_Send(steps, Py_None, &yielded);
        if (sent == PYGEN_NEXT) {
            *code = BATCH_PARKED;
            *a = steps;
            *b = yielded;
        }
        else {
            Py_DECREF(steps);
            if (sent == PYGEN_ERROR) {
                *code = BATCH_RAISED;
                *a = take_exception();
            }
            else {
                *code = Py_REFCNT(task) != held ? BATCH_TAINTED : BATCH_DONE;
                *a = yielded;
            }
        }
    }
    int failed = PyContext_Exit(context) < 0;
    if (tasks != Py_None) {
        if (outer != NULL) {
            failed |= PyDict_SetItem(tasks, loop, outer) < 0;
        }
        else {
            failed |= PyDict_DelItem(tasks, loop) < 0;
        }
    }
    Py_XDECREF(outer);
    if (failed) { /* cannot happen with a context entered above and a dict */
        Py_CLEAR(*a);
        Py_CLEAR(*b);
        return -1;
    }
    return 0;
}

/* run_first(handle, msg, context, task, loop, tasks) -> (code, a, b): first_step, for
 * Dispatcher._run_here (an ask's inline run). See py_run_first in _core.py. */
static PyObject *
speedups_run_first(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "run_first(handle, msg, context, task, loop, tasks)");
        return NULL;
    }
    if (args[5] != Py_None && !PyDict_CheckExact(args[5])) {
        PyErr_SetString(PyExc_TypeError, "run_first needs a dict of tasks, or None");
        return NULL;
    }
    int code;
    PyObject *a, *b;
    if (first_step(args[0], args[1], args[2], args[3], args[4], args[5], &code, &a, &b) < 0) {
        return NULL;
    }
    PyObject *result = PyTuple_New(3);
    PyObject *c = PyLong_FromLong(code);
    if (result == NULL || c == NULL) {
        Py_XDECREF(result);
        Py_XDECREF(c);
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, c);
    PyTuple_SET_ITEM(result, 1, a != NULL ? a : Py_NewRef(Py_None));
    PyTuple_SET_ITEM(result, 2, b != NULL ? b : Py_NewRef(Py_None));
    return result;
}


/* 1 if obj is falsy (None, an empty deque), 0 if not, -1 on error. */
static inline int
is_falsy(PyObject *obj)
{
    if (obj == Py_None) {
        return 1;
    }
    int truth = PyObject_IsTrue(obj);
    return truth < 0 ? -1 : !truth;
}

/* 1 if cell.state is RUNNING (0), 0 if not, -1 on error. */
static inline int
cell_running(CoreObject *cell)
{
    PyObject *state = PyObject_GetAttr((PyObject *)cell, str_state);
    if (state == NULL) {
        return -1;
    }
    int running = PyLong_CheckExact(state) && PyLong_AsLong(state) == 0;
    Py_DECREF(state);
    return running;
}

/* Whether the dispatcher's inline fields allow a run at all: 1 (with the depth, and that
 * depth's standby task and context, borrowed), or 0. */
static inline int
inline_slot(DispatcherCoreObject *d, Py_ssize_t *depth, PyObject **task, PyObject **context)
{
    if (d->current_tasks == NULL || !PyDict_CheckExact(d->current_tasks) ||
        d->inline_tasks == NULL || !PyList_CheckExact(d->inline_tasks) ||
        d->inline_contexts == NULL || !PyList_CheckExact(d->inline_contexts) ||
        d->inline_loop == NULL || d->ask_type == NULL || d->loop_turned == NULL ||
        d->call_soon == NULL || d->ready == NULL ||
        (PyObject *)Py_TYPE(d->ready) != deque_type || d->thread_mark != THREAD_MARK() ||
        str_after_run == NULL) {
        return 0;
    }
    Py_ssize_t n = d->inline_depth;
    if (n < 0 || n >= d->inline_cap || n >= PyList_GET_SIZE(d->inline_tasks) ||
        n >= PyList_GET_SIZE(d->inline_contexts)) {
        return 0;
    }
    *task = PyList_GET_ITEM(d->inline_tasks, n);
    *context = PyList_GET_ITEM(d->inline_contexts, n);
    if (*task == Py_None || *context == Py_None || !PyContext_CheckExact(*context)) {
        return 0;
    }
    *depth = n;
    return 1;
}

/* The cell's side of the checks: nobody waits for room and it is RUNNING. 1 with its bound
 * handle (a new reference), 0 if not, -1 on error. */
static int
inline_cell(CoreObject *cell, PyObject **handle)
{
    PyObject *waiters = PyObject_GetAttr((PyObject *)cell, str_waiters);
    if (waiters == NULL) {
        return -1;
    }
    int none_wait = is_falsy(waiters);
    Py_DECREF(waiters);
    if (none_wait <= 0) {
        return none_wait;
    }
    int running = cell_running(cell);
    if (running <= 0) {
        return running;
    }
    PyObject *actor = PyObject_GetAttr((PyObject *)cell, str_actor);
    if (actor == NULL) {
        return -1;
    }
    *handle = PyObject_GetAttr(actor, str_handle);
    Py_DECREF(actor);
    return *handle == NULL ? -1 : 1;
}

/* Run one message inline, every check passed (Dispatcher._run_here, its twin): start this
 * iteration's budget if `need_budget`; for a woken send (`queue` given) take the cell off the
 * ready queue and the message off its queue (`msg` NULL); then the run, its common ending
 * here and any other in Dispatcher._after_run. *out: what run_inline returns ((True,
 * answer), (False, reply)), a new reference. 0, or -1 with an error (the handler's, for an
 * ask, raised by _after_run). Steals `handle`. */
static int
inline_go(DispatcherCoreObject *d, CoreObject *cell, PyObject *msg, PyObject *queue,
          int asking, Py_ssize_t depth, PyObject *task, PyObject *context, PyObject *handle,
          int need_budget, PyObject **out)
{
    *out = NULL;
    if (need_budget) {
        if (!d->pending) { /* else the turn to come resets the budget */
            PyObject *res = PyObject_CallOneArg(d->call_soon, d->loop_turned);
            if (res == NULL) {
                Py_DECREF(handle);
                return -1;
            }
            Py_DECREF(res);
        }
        d->inline_deadline = monotonic_s() + d->inline_budget;
    }
    if (queue != NULL) {
        PyObject *ready = d->ready;
        PyObject *popped = PyObject_Vectorcall(deque_pop, &ready, 1, NULL);
        if (popped == NULL) {
            Py_DECREF(handle);
            return -1;
        }
        Py_DECREF(popped);
        msg = PyObject_Vectorcall(deque_popleft, &queue, 1, NULL);
        if (msg == NULL) {
            Py_DECREF(handle);
            return -1;
        }
        if (depth == 0 && ++d->inline_sent >= INLINE_SENDS_PER_TURN) {
            d->wake_inline = 0; /* until the next turn */
        }
    }
    else {
        Py_INCREF(msg);
    }
    Py_INCREF(task);
    Py_INCREF(context);
    PyObject *outer_running = d->running; /* its reference moves to this frame */
    d->running = Py_NewRef((PyObject *)cell);
    char wake_inline = d->wake_inline;
    d->inline_depth = depth + 1;
    d->wake_inline = depth + 1 < d->inline_cap;
    d->inline_free = 1;
    cell->scheduled = 1;
    int code;
    PyObject *a, *b;
    int failed = first_step(handle, msg, context, task, d->inline_loop, d->current_tasks, &code,
                            &a, &b);
    d->inline_free = 0; /* the run it is nested in (if any) has had its first */
    Py_DECREF(handle);
    Py_XSETREF(d->running, outer_running);
    d->inline_depth = depth;
    d->wake_inline = wake_inline;
    int result = 0;
    if (failed) {
        result = -1;
    }
    else {
        int settled = 0;
        if (code == BATCH_DONE) {
            Py_ssize_t vars = PyObject_Size(context);
            PyObject *q = cell->queue;
            Py_ssize_t left = q == NULL ? -1 : PyObject_Size(q);
            int idle = 0;
            if (vars == 0 && left == 0) {
                PyObject *w = PyObject_GetAttr((PyObject *)cell, str_waiters);
                idle = w == NULL ? -1 : is_falsy(w);
                Py_XDECREF(w);
                if (idle > 0) {
                    idle = cell_running(cell);
                }
            }
            else if (vars < 0 || left < 0) {
                PyErr_Clear(); /* _after_run decides */
            }
            if (idle < 0) {
                result = -1;
                settled = 1;
            }
            else if (idle) { /* the common ending: count it, let the actor go idle */
                PyObject *count = PyObject_GetAttr((PyObject *)cell, str_handled);
                PyObject *more = NULL;
                if (count != NULL) {
                    Py_ssize_t handled = PyLong_AsSsize_t(count);
                    Py_DECREF(count);
                    if (!(handled == -1 && PyErr_Occurred())) {
                        more = PyLong_FromSsize_t(handled + 1);
                    }
                }
                if (more == NULL ||
                    PyObject_SetAttr((PyObject *)cell, str_handled, more) < 0) {
                    result = -1;
                }
                Py_XDECREF(more);
                cell->scheduled = 0;
                settled = 1;
                if (result == 0) {
                    *out = PyTuple_Pack(2, Py_True, a != NULL ? a : Py_None);
                    if (*out == NULL) {
                        result = -1;
                    }
                }
            }
        }
        if (!settled) { /* any other ending: Dispatcher._after_run accounts for it */
            PyObject *depth_obj = PyLong_FromSsize_t(depth);
            PyObject *code_obj = PyLong_FromLong(code);
            if (depth_obj == NULL || code_obj == NULL) {
                result = -1;
            }
            else {
                PyObject *args[10] = {(PyObject *)d, (PyObject *)cell, msg,
                                      asking ? Py_True : Py_False, depth_obj, task, context,
                                      code_obj, a != NULL ? a : Py_None, b != NULL ? b : Py_None};
                *out = PyObject_VectorcallMethod(str_after_run, args,
                                                 10 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
                if (*out == NULL) {
                    result = -1;
                }
            }
            Py_XDECREF(depth_obj);
            Py_XDECREF(code_obj);
        }
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
    Py_DECREF(msg);
    Py_DECREF(task);
    Py_DECREF(context);
    return result;
}

/* The budget of inline runs from outside any handler (Dispatcher._may_run_inline, its twin):
 * 1 (need_budget set if this starts the loop iteration's budget), or 0 (no: the caller's
 * Python twin decides the same). */
static inline int
inline_budget(DispatcherCoreObject *d, Py_ssize_t depth, int asking, int *need_budget)
{
    *need_budget = 0;
    if (depth > 0) { /* the outermost run started this iteration's budget: nested runs share it
                      * (but for the first of each run) */
        return d->inline_free || monotonic_s() < d->inline_deadline;
    }
    if (asking && d->pending) {
        return 0;
    }
    if (d->inline_deadline == 0.0) {
        *need_budget = 1;
        return 1;
    }
    return monotonic_s() < d->inline_deadline;
}

/* The fast path of Dispatcher.run_woken (the reference, in Python): the same checks, then
 * inline_go. 1 if it ran the message, 2 if run_woken would do nothing (wake_inline is off, its
 * first check), 0 if it did not apply (nothing was changed: the caller calls run_woken, which
 * decides), -1 on error. */
static int
woken_fast(DispatcherCoreObject *d, CoreObject *cell)
{
    Py_ssize_t depth;
    PyObject *task, *context;
    int need_budget;
    if (!d->wake_inline) {
        return 2;
    }
    if (!inline_slot(d, &depth, &task, &context) ||
        !inline_budget(d, depth, 0, &need_budget)) {
        return 0;
    }
    PyObject *ready = d->ready;
    Py_ssize_t n = PyObject_Size(ready);
    if (n <= 0) {
        return n < 0 ? -1 : 0;
    }
    PyObject *last = PySequence_GetItem(ready, n - 1);
    if (last == NULL) {
        return -1;
    }
    Py_DECREF(last); /* only its identity is compared */
    PyObject *queue = cell->queue;
    if (last != (PyObject *)cell || queue == NULL || (PyObject *)Py_TYPE(queue) != deque_type) {
        return 0;
    }
    Py_ssize_t size = PyObject_Size(queue);
    if (size <= 0) {
        return size < 0 ? -1 : 0;
    }
    PyObject *head = PySequence_GetItem(queue, 0);
    if (head == NULL) {
        return -1;
    }
    Py_DECREF(head);
    if ((PyObject *)Py_TYPE(head) == d->ask_type) {
        return 0;
    }
    PyObject *cut = PyObject_GetAttr((PyObject *)d, str_cut);
    if (cut == NULL) {
        return -1;
    }
    Py_DECREF(cut);
    if (cut == (PyObject *)cell) {
        return 0;
    }
    PyObject *handle;
    int ok = inline_cell(cell, &handle);
    if (ok <= 0) {
        return ok;
    }
    Py_INCREF(queue);
    PyObject *out;
    int failed = inline_go(d, cell, NULL, queue, 0, depth, task, context, handle, need_budget,
                           &out);
    Py_DECREF(queue);
    Py_XDECREF(out);
    return failed ? -1 : 1;
}

/* inline_ask(dispatcher, cell, msg): Dispatcher.run_inline(cell, msg, True) for an idle cell
 * (the caller checked: not scheduled, RUNNING, queue empty), its checks and common run in C;
 * whatever does not fit is left to run_inline itself. See py_inline_ask in _core.py. */
static PyObject *
speedups_inline_ask(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "inline_ask(dispatcher, cell, msg)");
        return NULL;
    }
    PyObject *dispatcher = args[0], *cell = args[1], *msg = args[2];
    if (is_core_dispatcher(dispatcher) && PyObject_TypeCheck(cell, core_type_ptr)) {
        DispatcherCoreObject *d = (DispatcherCoreObject *)dispatcher;
        Py_ssize_t depth;
        PyObject *task, *context, *handle;
        int need_budget;
        if (inline_slot(d, &depth, &task, &context) &&
            inline_budget(d, depth, 1, &need_budget) && !((CoreObject *)cell)->scheduled) {
            int ok = inline_cell((CoreObject *)cell, &handle);
            if (ok < 0) {
                return NULL;
            }
            if (ok) {
                PyObject *out;
                if (inline_go(d, (CoreObject *)cell, msg, NULL, 1, depth, task, context, handle,
                              need_budget, &out) < 0) {
                    return NULL;
                }
                return out;
            }
        }
    }
    PyObject *call[4] = {dispatcher, cell, msg, Py_True};
    return PyObject_VectorcallMethod(str_run_inline, call, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                     NULL);
}

static PyMethodDef speedups_functions[] = {
    {"run_batch", (PyCFunction)(void (*)(void))speedups_run_batch, METH_FASTCALL,
     "run_batch(queue, handle, batch, ready, ask_type, task, deadline) -> (done, code, a, b, msg); "
     "see _core.py."},
    {"inline_ask", (PyCFunction)(void (*)(void))speedups_inline_ask, METH_FASTCALL,
     "inline_ask(dispatcher, cell, msg): dispatcher.run_inline(cell, msg, True), its common "
     "case in C; see _core.py."},
    {"run_first", (PyCFunction)(void (*)(void))speedups_run_first, METH_FASTCALL,
     "run_first(handle, msg, context, task, loop, tasks) -> (code, a, b); see _core.py."},
    {"clock", speedups_clock, METH_NOARGS,
     "clock() -> float: the monotonic clock run_batch compares its deadline with, in seconds."},
    {"deadline_after", speedups_deadline_after, METH_O,
     "deadline_after(seconds) -> float: clock() + seconds, for run_batch."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mycelium._speedups",
    .m_doc = "The send fast path of Mycelium's local actor refs, in C (optional).",
    .m_size = 0,
    .m_methods = speedups_functions,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
