/**
 * privlab's Frida agent. The runner loads this bundle, calls `init(config)` before the app runs, and
 * receives `hooks:events` batches, `agent:warning`s and one `agent:ready` with what each module did.
 * Every module observes the app's own calls; none reads anything on the app's behalf.
 */
import { describeError, flush, warn } from "./lib/emit.js";
import { InstallLog, javaAvailable, onHotSpot, performJava } from "./lib/java.js";
import type { HookModule, JavaHookModule } from "./lib/module.js";
import type { AgentConfig, ExceptionMessage, ModuleReport, ReadyMessage } from "./lib/protocol.js";
import { MODULES } from "./modules.js";

let initialised = false;

function installJava(modules: JavaHookModule[], config: AgentConfig, reports: ModuleReport[]): void {
    for (const module of modules) {
        const log = new InstallLog(module.name);
        try {
            module.install(log, config);
        } catch (e) {
            log.report.status = "failed";
            log.report.reason = describeError(e);
            warn(module.name, `install failed: ${describeError(e)}`);
        }
        reports.push(log.report);
    }
}

function ready(reports: ModuleReport[], java: boolean): void {
    const msg: ReadyMessage = { type: "agent:ready", modules: reports, frida: Frida.version, runtime: Script.runtime, java };
    send(msg);
}

/** Install the chosen modules; native ones now, Java ones once the VM is ready. */
function init(config: AgentConfig): ModuleReport[] {
    if (initialised) {
        return [];
    }
    initialised = true;
    const wanted = config.modules === undefined || config.modules.length === 0 ? MODULES.map((m) => m.name) : config.modules;
    const reports: ModuleReport[] = [];
    const chosen: HookModule[] = [];
    for (const name of wanted) {
        const module = MODULES.find((m) => m.name === name);
        if (module === undefined) {
            reports.push({ name, status: "failed", hooks: 0, missing: [], reason: "no such module" });
            warn("agent", `unknown module ${JSON.stringify(name)}; known: ${MODULES.map((m) => m.name).join(", ")}`);
        } else {
            chosen.push(module);
        }
    }
    for (const module of chosen) {
        if (module.kind !== "native") {
            continue;
        }
        try {
            reports.push(module.install(config));
        } catch (e) {
            reports.push({ name: module.name, status: "failed", hooks: 0, missing: [], reason: describeError(e) });
            warn(module.name, `install failed: ${describeError(e)}`);
        }
    }
    const javaModules = chosen.filter((m): m is JavaHookModule => m.kind === "java");
    const java = javaAvailable();
    if (javaModules.length > 0 && !java) {
        for (const module of javaModules) {
            reports.push({ name: module.name, status: "skipped", hooks: 0, missing: [], reason: "no Java runtime in this process" });
        }
        warn("agent", `Java is not available in this process; skipped ${javaModules.map((m) => m.name).join(", ")}`);
    }
    if (javaModules.length > 0 && java) {
        // When spawned, perform() waits for the app's class loader: the report follows then.
        performJava(() => {
            installJava(javaModules, config, reports);
            ready(reports, true);
        });
    } else {
        ready(reports, java);
    }
    return reports;
}

// Send what is queued before a crash takes the process (returning false lets the crash proceed).
// The runtime may still handle the exception itself (ART uses SIGSEGV for null checks), so this is
// reported as a native exception; the runner calls it a crash only if the process then ends.
Process.setExceptionHandler((details) => {
    if (onHotSpot()) {
        // HotSpot raises SIGSEGV by design (implicit null checks, safepoint polls) and handles it; a real
        // crash there ends the process with an hs_err report, which Frida reports as the session's end.
        return false;
    }
    flush();
    const msg: ExceptionMessage = { type: "agent:exception", kind: details.type, address: details.address.toString() };
    send(msg);
    // send() only queues; give Frida's I/O thread a moment to deliver before the process goes. Not
    // under ART, which raises SIGSEGV for ordinary null checks and where Frida reports crashes itself.
    if (!javaAvailable()) {
        Thread.sleep(0.2);
    }
    return false;
});

rpc.exports.init = init;
rpc.exports.flush = flush;
rpc.exports.dispose = flush;
