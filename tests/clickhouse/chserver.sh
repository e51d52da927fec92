#!/bin/bash
# Runs Debian's clickhouse-server from configs of its own (no system files
# read or written): chserver.sh start DIR HTTP_PORT TCP_PORT INTER_PORT [CLUSTER SHARD_TCP...]
# starts one in DIR (data, logs, config.xml, users.xml, config.d/) and waits
# for /ping; chserver.sh stop DIR ends it (SIGTERM, then SIGKILL).
# users.xml: default (no password), 'writer' (password 'secret'), 'reader'
# (read only), 'stranger' (no access to any database but 'other').
set -u
cmd=$1 dir=$2
config() { # HTTP TCP INTER
  cat <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log>
    <errorlog>$dir/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>$1</http_port>
  <tcp_port>$2</tcp_port>
  <interserver_http_port>$3</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>64</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>16</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>67108864</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
  <merge_tree><max_suspicious_broken_parts>5</max_suspicious_broken_parts></merge_tree>
</yandex>
XML
}
users() {
  cat <<XML
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>1000000000</max_memory_usage><max_threads>2</max_threads>
      <use_uncompressed_cache>0</use_uncompressed_cache></default>
    <readonly><readonly>1</readonly><max_memory_usage>1000000000</max_memory_usage></readonly>
  </profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
    <writer><password>secret</password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota></writer>
    <reader><password></password><networks><ip>127.0.0.1</ip></networks>
      <profile>readonly</profile><quota>default</quota></reader>
    <stranger><password></password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota>
      <allow_databases><database>other</database></allow_databases></stranger>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
}
cluster() { # NAME TCP...
  local name=$1; shift
  echo "<?xml version=\"1.0\"?><yandex><remote_servers><$name>"
  for p in "$@"; do
    echo "<shard><replica><host>127.0.0.1</host><port>$p</port></replica></shard>"
  done
  echo "</$name></remote_servers></yandex>"
}
case $cmd in
start)
  http=$3 tcp=$4 inter=$5
  shift 5
  mkdir -p "$dir"/{data,tmp,user_files,format_schemas,log,config.d}
  config "$http" "$tcp" "$inter" > "$dir/config.xml"
  users > "$dir/users.xml"
  [ $# -gt 0 ] && cluster "$@" > "$dir/config.d/cluster.xml"
  (cd "$dir" && exec setsid /usr/sbin/clickhouse-server --config-file="$dir/config.xml" \
     --pid-file="$dir/server.pid" >"$dir/log/stdout" 2>&1 </dev/null) &
  echo $! > "$dir/launcher.pid"
  for _ in $(seq 1 150); do
    [ "$(curl -s --max-time 1 "http://127.0.0.1:$http/ping" 2>/dev/null)" = "Ok." ] && exit 0
    sleep 0.2
  done
  echo "clickhouse-server in $dir did not answer /ping on $http:" >&2
  tail -5 "$dir/log/server.err.log" "$dir/log/stdout" >&2 2>/dev/null
  exit 1 ;;
stop)
  pid=$(cat "$dir/server.pid" 2>/dev/null || cat "$dir/launcher.pid" 2>/dev/null)
  [ -n "$pid" ] || exit 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null
  exit 0 ;;
esac
