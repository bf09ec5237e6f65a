package privlab.twin;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the twin's own (original) methods received: the hook must call through with the app's
 * arguments unchanged, and tests compare this log with what the agent recorded.
 */
public final class Originals {
    private static final List<String> CALLS = new ArrayList<>();

    private Originals() {}

    public static synchronized void called(String api, Object... args) {
        CALLS.add(api + Arrays.deepToString(args));
    }

    public static synchronized List<String> calls() {
        return new ArrayList<>(CALLS);
    }
}
