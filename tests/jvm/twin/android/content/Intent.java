package android.content;

/** android.content.Intent: an action (queries for apps that handle it probe what is installed). */
public class Intent {
    public static final String ACTION_MAIN = "android.intent.action.MAIN";

    private final String action;

    public Intent(String action) {
        this.action = action;
    }

    public String getAction() {
        return action;
    }

    @Override
    public String toString() {
        return "Intent { act=" + action + " }";
    }
}
