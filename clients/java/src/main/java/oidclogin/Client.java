package oidclogin;

import com.databricks.sdk.AccountClient;
import com.databricks.sdk.WorkspaceClient;
import com.databricks.sdk.core.DatabricksError;
import com.databricks.sdk.service.iam.MeRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * One operation of the Databricks Java SDK, configured only from the environment and
 * ~/.databrickscfg, as a later workflow step would be. Prints one JSON line; exits 1 on failure.
 *
 * <pre>java -cp CLASSPATH oidclogin.Client me|account|version</pre>
 */
public final class Client {
  private Client() {}

  public static void main(String[] args) {
    String operation = args.length > 0 ? args[0] : "";
    try {
      System.out.println(run(operation));
    } catch (Throwable error) {
      StringBuilder line = new StringBuilder("{\"ok\": false, \"error\": ");
      line.append(quote(describe(error)));
      Integer status = statusOf(error);
      if (status != null) {
        line.append(", \"status\": ").append(status);
      }
      System.out.println(line.append('}'));
      System.out.flush();
      // The SDK's HTTP client may leave non-daemon threads behind: exit explicitly.
      System.exit(1);
    }
    System.out.flush();
    System.exit(0);
  }

  private static String run(String operation) throws Exception {
    switch (operation) {
      case "version":
        return "{\"ok\": true, \"version\": " + quote(sdkVersion()) + "}";
      case "me":
        String userName = new WorkspaceClient().currentUser().me(new MeRequest()).getUserName();
        return "{\"ok\": true, \"userName\": " + quote(userName) + "}";
      case "account":
        int count = 0;
        for (Object ignored : new AccountClient().workspaces().list()) {
          count++;
        }
        return "{\"ok\": true, \"count\": " + count + "}";
      default:
        throw new IllegalArgumentException(
            "unknown operation " + quote(operation) + ": expected me, account or version");
    }
  }

  /** The SDK jar's own Maven coordinates: the version that is on the classpath, not the pom's. */
  private static String sdkVersion() throws Exception {
    String resource = "/META-INF/maven/com.databricks/databricks-sdk-java/pom.properties";
    try (InputStream in = WorkspaceClient.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " not found in the SDK jar");
      }
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version");
    }
  }

  /**
   * The HTTP status of the first DatabricksError in the cause chain, unless the request never got a
   * response: the SDK then reports a status of its own making (523 for a refused connection).
   */
  private static Integer statusOf(Throwable error) {
    Integer status = null;
    for (Throwable e = error; e != null; e = e.getCause() == e ? null : e.getCause()) {
      if (e instanceof IOException) {
        return null;
      }
      if (status == null && e instanceof DatabricksError) {
        int code = ((DatabricksError) e).getStatusCode();
        status = code > 0 ? code : null;
      }
    }
    return status;
  }

  /** The error and its causes, so that a connection failure wrapped by the SDK is still named. */
  private static String describe(Throwable error) {
    StringBuilder text = new StringBuilder();
    for (Throwable e = error; e != null; e = e.getCause() == e ? null : e.getCause()) {
      String part = e.getClass().getSimpleName() + ": " + e.getMessage();
      if (text.indexOf(part) < 0) {
        text.append(text.length() == 0 ? "" : " <- ").append(part);
      }
    }
    return text.toString();
  }

  private static String quote(String value) {
    if (value == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder("\"");
    for (char c : value.toCharArray()) {
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    return out.append('"').toString();
  }
}
