/*
 * libnice (Debian's libnice-dev) as one side of the ICE race across NATs (two-nat.sh, step 9).
 *
 *   nice_race DIR SELF PEER controlling|controlled LOCAL_IP STUN_IP STUN_PORT TURN_IP TURN_PORT USER PASSWORD
 *
 * Gathers host (LOCAL_IP only; UPnP off), server-reflexive and relayed candidates (TURN over
 * UDP), writes DIR/SELF (the race's exchange format, shared by all three agents: lines `ufrag U`, `pwd P`,
 * `candidate TYPE IP PORT PRIORITY FOUNDATION`), waits for DIR/PEER and starts its checks at
 * once. The controlling side reports the time from reading the peer's description to READY
 * and to the first datagram echoed by the peer (it sends "probe" every 5 ms once READY), then
 * writes DIR/done; the controlled side echoes every datagram until DIR/done appears.
 * Prints each selected pair (`libnice: selected LOCAL/REMOTE` types), then
 * `race: libnice ROLE connected_ms=X echo_ms=Y`, and exits 0, or 1 after 20 s. Regular
 * nomination, or aggressive nomination (libnice's default) with NICE_RACE_NOMINATION=aggressive.
 */
#include <nice/agent.h>
#include "nice_candidates.h"
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GMainLoop *loop;
static NiceAgent *agent;
static guint stream_id;
static const char *directory, *peer_name;
static gboolean controlling;
static gint64 started_us, connected_us, echoed_us;
static int exit_code = 1;

/* DIR/SELF, written to a temporary name and renamed so that the reader never sees half. */
static gboolean write_description(const char *self) {
  gchar *ufrag = NULL, *pwd = NULL;
  if (!nice_agent_get_local_credentials(agent, stream_id, &ufrag, &pwd)) return FALSE;
  GString *text = g_string_new(NULL);
  g_string_append_printf(text, "ufrag %s\npwd %s\n", ufrag, pwd);
  GSList *candidates = nice_agent_get_local_candidates(agent, stream_id, 1);
  for (GSList *item = candidates; item; item = item->next) {
    NiceCandidate *candidate = item->data;
    if (candidate->transport != NICE_CANDIDATE_TRANSPORT_UDP) continue;
    gchar ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&candidate->addr, ip);
    g_string_append_printf(text, "candidate %s %s %u %u %s\n", candidate_type_name(candidate->type), ip,
                           nice_address_get_port(&candidate->addr), candidate->priority, candidate->foundation);
  }
  g_slist_free_full(candidates, (GDestroyNotify)nice_candidate_free);
  gchar *temporary = g_strdup_printf("%s/%s.tmp", directory, self);
  gchar *final = g_strdup_printf("%s/%s", directory, self);
  gboolean written = g_file_set_contents(temporary, text->str, -1, NULL) && rename(temporary, final) == 0;
  g_free(temporary);
  g_free(final);
  g_string_free(text, TRUE);
  g_free(ufrag);
  g_free(pwd);
  return written;
}

/* Reads DIR/PEER and hands it to the agent; FALSE while the file is not there yet. */
static gboolean read_peer(void) {
  gchar *path = g_strdup_printf("%s/%s", directory, peer_name);
  gchar *contents = NULL;
  gboolean present = g_file_get_contents(path, &contents, NULL, NULL);
  g_free(path);
  if (!present) return FALSE;
  started_us = g_get_monotonic_time();
  gchar **lines = g_strsplit(contents, "\n", -1);
  GSList *candidates = NULL;
  char ufrag[257] = "", pwd[257] = "";
  for (gchar **line = lines; *line; line++) {
    char type[16], ip[64], foundation[NICE_CANDIDATE_MAX_FOUNDATION];
    unsigned port, priority;
    if (sscanf(*line, "ufrag %256s", ufrag) == 1 || sscanf(*line, "pwd %256s", pwd) == 1) continue;
    if (sscanf(*line, "candidate %15s %63s %u %u %32s", type, ip, &port, &priority, foundation) != 5) continue;
    NiceCandidate *candidate = remote_candidate(stream_id, candidate_type_from(type), ip, port, priority, foundation);
    if (candidate) candidates = g_slist_append(candidates, candidate);
  }
  g_strfreev(lines);
  g_free(contents);
  if (!nice_agent_set_remote_credentials(agent, stream_id, ufrag, pwd) ||
      nice_agent_set_remote_candidates(agent, stream_id, 1, candidates) <= 0) {
    fprintf(stderr, "libnice: the peer's description was not accepted\n");
    g_main_loop_quit(loop);
  }
  g_slist_free_full(candidates, (GDestroyNotify)nice_candidate_free);
  return TRUE;
}

static gboolean poll_peer(gpointer data) { return read_peer() ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE; }

static gboolean poll_done(gpointer data) {
  gchar *path = g_strdup_printf("%s/done", directory);
  gboolean done = g_file_test(path, G_FILE_TEST_EXISTS);
  g_free(path);
  if (!done) return G_SOURCE_CONTINUE;
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

static gboolean send_probe(gpointer data) {
  if (echoed_us) return G_SOURCE_REMOVE;
  nice_agent_send(agent, stream_id, 1, 5, "probe");
  return G_SOURCE_CONTINUE;
}

static void on_gathering_done(NiceAgent *self_agent, guint stream, gpointer data) {
  if (!write_description(data)) {
    fprintf(stderr, "libnice: could not write its description\n");
    g_main_loop_quit(loop);
    return;
  }
  if (!read_peer()) g_timeout_add(1, poll_peer, NULL);
}

static void on_state_changed(NiceAgent *self_agent, guint stream, guint component, guint state, gpointer data) {
  if (state == NICE_COMPONENT_STATE_READY && !connected_us) {
    connected_us = g_get_monotonic_time();
    if (controlling) {
      send_probe(NULL);
      g_timeout_add(5, send_probe, NULL);
    } else {
      exit_code = 0;
      g_timeout_add(10, poll_done, NULL);
    }
  } else if (state == NICE_COMPONENT_STATE_FAILED) {
    fprintf(stderr, "libnice: connectivity checks failed\n");
    g_main_loop_quit(loop);
  }
}

static void on_receive(NiceAgent *self_agent, guint stream, guint component, guint length, gchar *bytes, gpointer data) {
  if (!controlling) {
    nice_agent_send(agent, stream_id, 1, length, bytes);
    return;
  }
  if (echoed_us || length != 5 || memcmp(bytes, "probe", 5) != 0) return;
  echoed_us = g_get_monotonic_time();
  exit_code = 0;
  gchar *path = g_strdup_printf("%s/done", directory);
  g_file_set_contents(path, "", 0, NULL);
  g_free(path);
  g_main_loop_quit(loop);
}

/* Every pair libnice selects, so that a later nomination by the controlling side shows. */
static void on_selected_pair(NiceAgent *self_agent, guint stream, guint component, NiceCandidate *local, NiceCandidate *remote,
                             gpointer data) {
  printf("libnice: selected %s/%s\n", candidate_type_name(local->type), candidate_type_name(remote->type));
  fflush(stdout);
}

static gboolean on_timeout(gpointer data) {
  fprintf(stderr, "libnice: no connection and echo within 20 s\n");
  exit_code = 1;
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

int main(int argc, char **argv) {
  if (argc != 12 || (strcmp(argv[4], "controlling") != 0 && strcmp(argv[4], "controlled") != 0)) {
    fprintf(stderr, "usage: %s DIR SELF PEER controlling|controlled LOCAL_IP STUN_IP STUN_PORT TURN_IP TURN_PORT USER PASSWORD\n", argv[0]);
    return 2;
  }
  directory = argv[1];
  peer_name = argv[3];
  controlling = strcmp(argv[4], "controlling") == 0;
  loop = g_main_loop_new(NULL, FALSE);
  /* Regular nomination (RFC 8445's only kind, and Warren's), or libnice's default, aggressive
   * nomination (RFC 5245 §8.1.1.2), with NICE_RACE_NOMINATION=aggressive. */
  const char *nomination = getenv("NICE_RACE_NOMINATION");
  gboolean aggressive = nomination && strcmp(nomination, "aggressive") == 0;
  agent = nice_agent_new_full(g_main_loop_get_context(loop), NICE_COMPATIBILITY_RFC5245,
                              aggressive ? NICE_AGENT_OPTION_NONE : NICE_AGENT_OPTION_REGULAR_NOMINATION);
  g_object_set(agent, "upnp", FALSE, "ice-tcp", FALSE, "controlling-mode", controlling, "stun-server", argv[6],
               "stun-server-port", (guint)atoi(argv[7]), NULL);
  NiceAddress local;
  nice_address_init(&local);
  nice_address_set_from_string(&local, argv[5]);
  nice_agent_add_local_address(agent, &local);
  g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), argv[2]);
  g_signal_connect(agent, "component-state-changed", G_CALLBACK(on_state_changed), NULL);
  g_signal_connect(agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), NULL);
  stream_id = nice_agent_add_stream(agent, 1);
  nice_agent_set_relay_info(agent, stream_id, 1, argv[8], (guint)atoi(argv[9]), argv[10], argv[11], NICE_RELAY_TYPE_TURN_UDP);
  nice_agent_attach_recv(agent, stream_id, 1, g_main_loop_get_context(loop), on_receive, NULL);
  if (!nice_agent_gather_candidates(agent, stream_id)) {
    fprintf(stderr, "libnice: gathering failed\n");
    return 1;
  }
  g_timeout_add_seconds(20, on_timeout, NULL);
  g_main_loop_run(loop);
  if (exit_code == 0) {
    printf("race: libnice %s connected_ms=%.1f echo_ms=%.1f\n", controlling ? "controlling" : "controlled",
           (connected_us - started_us) / 1000.0, echoed_us ? (echoed_us - started_us) / 1000.0 : -1.0);
  }
  g_object_unref(agent);
  g_main_loop_unref(loop);
  return exit_code;
}
