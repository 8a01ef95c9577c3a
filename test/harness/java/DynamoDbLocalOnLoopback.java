import java.lang.reflect.Field;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts DynamoDB Local bound to 127.0.0.1 on a port the kernel picks. DynamoDB Local's command line
 * has no bind address (it listens on every interface) and refuses port 0, so this launcher builds the
 * server from the usual arguments, sets host and port on its Jetty connector before starting it, and
 * prints the port it got (used by test/harness/dynamodb-local.ts).
 */
public class DynamoDbLocalOnLoopback {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    ServerConnector connector = (ServerConnector) server.getConnectors()[0];
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    proxy.start();
    System.out.println("chrono-dynamodb-local listening on 127.0.0.1:" + connector.getLocalPort());
  }
}
