package privlab.app;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The SDK app's ground truth, as privlab's control app writes it: which planted value each request
 * carries, in which part and encoding ({@code schema.PlantedPart}), and which planted reads the app made
 * (api, data type, canary, the SDK class that read it) so access recall can be measured.
 */
public final class Truth {
    private static final List<String> PARTS = new ArrayList<>();
    private static final List<String> READS = new ArrayList<>();

    private Truth() {}

    public static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    public static synchronized void planted(String probe, String canaryId, String dataType, String part, String encoding) {
        PARTS.add("{\"probe\":" + json(probe) + ",\"canary_id\":" + json(canaryId) + ",\"data_type\":" + json(dataType)
                + ",\"part\":" + json(part) + ",\"encoding\":" + json(encoding) + ",\"expect\":\"present\",\"note\":\"jvm twin\"}");
    }

    /** A read of a planted value the app made through a hooked API (the agent must see each one). */
    public static synchronized void read(String api, String dataType, String canaryId, Class<?> reader) {
        READS.add("{\"api\":" + json(api) + ",\"data_type\":" + json(dataType) + ",\"canary_id\":" + json(canaryId)
                + ",\"reader\":" + json(reader.getName()) + "}");
    }

    public static synchronized void write(Path groundTruth, Path reads) throws IOException {
        Files.write(groundTruth, ("[" + String.join(",\n", PARTS) + "]\n").getBytes(StandardCharsets.UTF_8));
        Files.write(reads, ("[" + String.join(",\n", READS) + "]\n").getBytes(StandardCharsets.UTF_8));
    }
}
