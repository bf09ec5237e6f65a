/** What every hook module provides, so `index.ts` can install any subset by name. */
import type { InstallLog } from "./java.js";
import type { AgentConfig, ModuleReport } from "./protocol.js";

export interface JavaHookModule {
    name: string;
    kind: "java";
    /** Install inside `Java.perform`; missing classes go to `log`, other problems to `warn()`. */
    install(log: InstallLog, config: AgentConfig): void;
}

export interface NativeHookModule {
    name: string;
    kind: "native";
    /** Install now; libraries that load later are hooked when they appear. */
    install(config: AgentConfig): ModuleReport;
}

export type HookModule = JavaHookModule | NativeHookModule;
