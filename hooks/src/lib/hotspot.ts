/**
 * Guards for a HotSpot JVM (the host twin used in tests and the demo), evaluated BEFORE the Java bridge package
 * (java.ts imports this module first, and ES modules run in import order).
 *
 * The bridge attaches the agent's JavaScript thread to the VM as an ordinary (non-daemon) thread. On
 * Android that does not matter; on a JVM, `DestroyJavaVM` waits for every non-daemon thread, so a program
 * that returned from `main` never exited. Attaching that thread as a daemon first lets the VM end; the
 * bridge then finds it attached and leaves it alone. Under ART (no libjvm.so) this module does nothing.
 */

/** The HotSpot library when this process is a JVM, else null (ART, or no Java at all). */
export const hotspot: Module | null = Process.findModuleByName("libjvm.so");

// JNIInvokeInterface slot of AttachCurrentThreadAsDaemon (jni.h: 3 reserved, DestroyJavaVM, Attach,
// Detach, GetEnv, AttachAsDaemon).
const ATTACH_AS_DAEMON = 7;

function attachJsThreadAsDaemon(jvm: Module): string | null {
    const getVms = jvm.findExportByName("JNI_GetCreatedJavaVMs");
    if (getVms === null) {
        return "JNI_GetCreatedJavaVMs not exported";
    }
    const vms = Memory.alloc(Process.pointerSize);
    const count = Memory.alloc(4);
    const rc = new NativeFunction(getVms, "int", ["pointer", "int", "pointer"])(vms, 1, count);
    if (rc !== 0 || count.readS32() < 1) {
        return "no Java VM created yet";  // spawned: the bridge waits for the VM; nothing to do here yet
    }
    const vm = vms.readPointer();
    const attach = new NativeFunction(
        vm.readPointer().add(ATTACH_AS_DAEMON * Process.pointerSize).readPointer(),
        "int", ["pointer", "pointer", "pointer"],
    );
    const env = Memory.alloc(Process.pointerSize);
    const status = attach(vm, env, NULL);
    return status === 0 ? null : `AttachCurrentThreadAsDaemon returned ${status}`;
}

/** Why the daemon attach did not happen (null when it did, or when this is not a JVM). */
export const daemonAttachProblem: string | null = hotspot === null ? null : attachJsThreadAsDaemon(hotspot);
