package android.content.pm;

/** android.content.pm.ResolveInfo: an app component that handles an intent. */
public class ResolveInfo {
    public final String packageName;

    public ResolveInfo(String packageName) {
        this.packageName = packageName;
    }

    @Override
    public String toString() {
        return "ResolveInfo{" + packageName + "}";
    }
}
