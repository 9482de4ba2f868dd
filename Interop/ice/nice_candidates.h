/*
 * Candidate helpers shared by the libnice harnesses (Interop/ice/nice_peer.c on loopback,
 * Interop/netns/race/nice_race.c across NATs).
 */
#ifndef WARREN_NICE_CANDIDATES_H
#define WARREN_NICE_CANDIDATES_H

#include <nice/agent.h>
#include <string.h>

static inline const char *candidate_type_name(NiceCandidateType type) {
  switch (type) {
  case NICE_CANDIDATE_TYPE_HOST: return "host";
  case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
  case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return "prflx";
  case NICE_CANDIDATE_TYPE_RELAYED: return "relay";
  }
  return "host";
}

static inline NiceCandidateType candidate_type_from(const char *name) {
  if (strcmp(name, "srflx") == 0) return NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
  if (strcmp(name, "prflx") == 0) return NICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
  if (strcmp(name, "relay") == 0) return NICE_CANDIDATE_TYPE_RELAYED;
  return NICE_CANDIDATE_TYPE_HOST;
}

/* A remote UDP candidate of component 1, or NULL when IP is not an address. */
static inline NiceCandidate *remote_candidate(guint stream_id, NiceCandidateType type, const char *ip, unsigned port,
                                              unsigned priority, const char *foundation) {
  NiceCandidate *candidate = nice_candidate_new(type);
  candidate->stream_id = stream_id;
  candidate->component_id = 1;
  candidate->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  candidate->priority = priority;
  g_strlcpy(candidate->foundation, foundation, sizeof candidate->foundation);
  if (!nice_address_set_from_string(&candidate->addr, ip)) {
    nice_candidate_free(candidate);
    return NULL;
  }
  nice_address_set_port(&candidate->addr, port);
  return candidate;
}

#endif
