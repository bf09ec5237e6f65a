package privlab.twin;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

/**
 * Holds a Java program back until the Frida agent's hooks are in, then runs its {@code main}.
 *
 * <pre>java -cp ... privlab.twin.Gate com.example.App args...</pre>
 *
 * With {@code PRIVLAB_GATE=<dir>} set, it writes {@code <dir>/vm-up} once the VM runs (the runner may
 * attach only then: before, there is no VM for the Java bridge), and waits for {@code <dir>/hooks-in},
 * which the runner writes when the agent reports its hooks installed. Without it, it runs at once.
 */
public final class Gate {
    private Gate() {}

    public static void main(String[] args) throws Throwable {
        if (args.length < 1) {
            System.err.println("usage: privlab.twin.Gate MAIN-CLASS [ARGS...]");
            System.exit(2);
        }
        String dir = System.getenv("PRIVLAB_GATE");
        if (dir != null && !dir.isEmpty()) {
            Path gate = Paths.get(dir);
            Files.write(gate.resolve("vm-up.tmp"), String.valueOf(ProcessHandle.current().pid()).getBytes());
            Files.move(gate.resolve("vm-up.tmp"), gate.resolve("vm-up"));
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!Files.exists(gate.resolve("hooks-in"))) {
                if (System.nanoTime() > deadline) {
                    System.err.println("privlab gate: no hooks-in after 120 s; giving up");
                    System.exit(3);
                }
                Thread.sleep(5);
            }
        }
        Method main = Class.forName(args[0]).getMethod("main", String[].class);
        try {
            main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
