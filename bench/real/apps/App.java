// App.java - a JVM service's working set: records parsed from CSV into
// maps, indexes, rendered strings.   java -cp DIR App DATADIR
import java.nio.file.*;
import java.util.*;

public class App {
    static Object keep;

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(args[0], "data.csv"));
        String[] cols = lines.get(0).split(",");
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, Map<String, Object>> byLogin = new HashMap<>();
        Map<String, List<Integer>> byCity = new HashMap<>();
        Map<String, Set<Integer>> byTag = new HashMap<>();
        for (String l : lines.subList(1, lines.size())) {
            if (l.isEmpty()) continue;
            String[] v = l.split(",", -1);
            Map<String, Object> r = new HashMap<>();
            for (int k = 0; k < cols.length; k++) r.put(cols[k], v[k]);
            int id = Integer.parseInt(v[0]);
            r.put("id", id);
            r.put("age", Integer.parseInt((String) r.get("age")));
            r.put("score", Double.parseDouble((String) r.get("score")));
            List<String> tags = Arrays.asList(((String) r.get("tags")).split(";"));
            r.put("tags", tags);
            rows.add(r);
            byLogin.put((String) r.get("login"), r);
            byCity.computeIfAbsent((String) r.get("city"), c -> new ArrayList<>()).add(id);
            for (String t : tags) byTag.computeIfAbsent(t, c -> new HashSet<>()).add(id);
        }
        List<String> pages = new ArrayList<>();
        for (Map<String, Object> r : rows)
            pages.add(String.format("<li><b>%s</b> &lt;%s&gt; (%s, %d) %s [%s]</li>", r.get("name"),
                    r.get("email"), r.get("city"), r.get("age"), r.get("bio"),
                    String.join(", ", (List<String>) r.get("tags"))));
        String report = String.join("\n", pages.subList(0, Math.min(5000, pages.size())));
        keep = new Object[] { rows, byLogin, byCity, byTag, pages, report };
        lines = null;
        System.gc();
        System.out.println("ready " + rows.size() + " " + pages.size());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
