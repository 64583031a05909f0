// Placeholder: replaced by the Redis test harness (REDIS_URL, testcontainers, redis-server).
export default function setup(): void {}
