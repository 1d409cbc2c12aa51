// Whether a name in the /shmring.* namespace may be taken over. Rings and
// the seed's regions (buffer, array, queue) share the namespace, so either
// creator must judge whatever holds the name, whichever kind it is.
#pragma once

#include <string>

namespace shmring {

enum class ObjectFamily { Ring, Region };

// True when the object at `path` may be unlinked and created anew: it is
// gone, its owner (ring writer, region creator) is dead, it is garbage, or
// it has looked half-created for longer than a grace period. Throws
// Error(WriterAlive) while a live process owns an object of the same family
// or another user owns it, Error(WrongKind) while a live process owns one of
// the other family, Error(VersionMismatch) for another shmring version.
// `what` names the object in messages ("ring 'cam0'").
bool existing_object_is_stale(const std::string &path, const std::string &what,
                              ObjectFamily creating);

}  // namespace shmring
