package android.app;

import java.util.ArrayList;
import java.util.List;
import privlab.twin.Originals;

/** android.app.ActivityManager: what else is running. */
public class ActivityManager {
    public static class RunningAppProcessInfo {
        public String processName;

        public RunningAppProcessInfo(String processName) {
            this.processName = processName;
        }

        @Override
        public String toString() {
            return "RunningAppProcessInfo{" + processName + "}";
        }
    }

    public static class RunningTaskInfo {
        @Override
        public String toString() {
            return "RunningTaskInfo{com.zhiliaoapp.musically}";
        }
    }

    public static class RunningServiceInfo {
        @Override
        public String toString() {
            return "RunningServiceInfo{com.whatsapp/.Svc}";
        }
    }

    public List<RunningAppProcessInfo> getRunningAppProcesses() {
        Originals.called("ActivityManager.getRunningAppProcesses");
        List<RunningAppProcessInfo> out = new ArrayList<>();
        out.add(new RunningAppProcessInfo("com.zhiliaoapp.musically"));
        out.add(new RunningAppProcessInfo("com.whatsapp"));
        return out;
    }

    @Deprecated
    public List<RunningTaskInfo> getRunningTasks(int maxNum) {
        Originals.called("ActivityManager.getRunningTasks", maxNum);
        List<RunningTaskInfo> out = new ArrayList<>();
        out.add(new RunningTaskInfo());
        return out;
    }

    @Deprecated
    public List<RunningServiceInfo> getRunningServices(int maxNum) {
        Originals.called("ActivityManager.getRunningServices", maxNum);
        List<RunningServiceInfo> out = new ArrayList<>();
        out.add(new RunningServiceInfo());
        return out;
    }
}
