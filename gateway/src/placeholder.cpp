// Keeps the library non-empty until the gateway sources land.
namespace floorgate::gateway { int placeholder_gateway = 0; }
